"""BigQuery -> DuckDB transpilation: each construct the metric SQL uses, run on DuckDB and
checked against BigQuery's documented result."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import duckdb
import pytest

from shared.adapters.local import sql as bqsql

SUNDAY = date(2024, 3, 3)
WEDNESDAY = date(2024, 3, 6)


@pytest.fixture(scope="module")
def con():
    c = duckdb.connect()
    c.execute("SET TimeZone = 'UTC'")
    c.execute("CREATE TABLE t AS SELECT * FROM (VALUES "
              "('a', 'north', 10, DATE '2024-03-04', TIMESTAMPTZ '2024-03-04 23:30:00+00',"
              " '{\"k\": \"v1\", \"n\": 2}'::JSON),"
              "('a', 'south', 5, DATE '2024-03-05', TIMESTAMPTZ '2024-03-05 00:15:00+00',"
              " '{\"k\": \"v2\"}'::JSON),"
              "('b', 'north', 7, DATE '2024-03-11', TIMESTAMPTZ '2024-03-11 12:00:00+00',"
              " NULL),"
              "('b', NULL, 3, DATE '2024-03-12', TIMESTAMPTZ '2024-03-12 08:00:00+00', NULL)"
              ") AS v(customer, region, amount, d, ts, extra)")
    yield c
    c.close()


def run(con, sql: str, **params):
    compiled = bqsql.transpile(sql)
    cur = con.execute(compiled.sql, bqsql.duckdb_params(compiled.params, params))
    return cur.fetchall()


def one(con, sql: str, **params):
    (row,) = run(con, sql, **params)
    return row[0] if len(row) == 1 else row


# ------------------------------------------------------------------ dates


@pytest.mark.parametrize(("part", "expected"), [
    ("WEEK(MONDAY)", date(2024, 3, 4)), ("WEEK", date(2024, 3, 3)),
    ("WEEK(SUNDAY)", date(2024, 3, 3)), ("ISOWEEK", date(2024, 3, 4)),
    ("MONTH", date(2024, 3, 1)), ("QUARTER", date(2024, 1, 1)), ("YEAR", date(2024, 1, 1)),
])
def test_date_trunc_returns_a_date_like_bigquery(con, part, expected):
    got = one(con, f"SELECT DATE_TRUNC(@d, {part})", d=WEDNESDAY)
    assert type(got) is date  # DuckDB alone would return a TIMESTAMP
    assert got == expected


def test_date_trunc_week_monday_of_a_sunday_goes_back_six_days(con):
    assert one(con, "SELECT DATE_TRUNC(@d, WEEK(MONDAY))", d=SUNDAY) == date(2024, 2, 26)


def test_date_add_and_sub_return_dates(con):
    got = one(con, "SELECT DATE_SUB(@d, INTERVAL 7 DAY), DATE_ADD(@d, INTERVAL 1 MONTH), "
                   "DATE_ADD(@d, INTERVAL 2 WEEK)", d=date(2024, 1, 31))
    assert got == (date(2024, 1, 24), date(2024, 2, 29), date(2024, 2, 14))
    assert all(type(v) is date for v in got)


def test_generate_date_array_with_unnest(con):
    rows = run(con, "SELECT day FROM UNNEST(GENERATE_DATE_ARRAY(@start, @end, "
                    "INTERVAL 1 DAY)) AS day ORDER BY day",
               start=date(2024, 2, 27), end=date(2024, 3, 2))
    assert [r[0] for r in rows] == [date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29),
                                    date(2024, 3, 1), date(2024, 3, 2)]
    weeks = run(con, "SELECT w FROM UNNEST(GENERATE_DATE_ARRAY(@start, @end, "
                     "INTERVAL 1 WEEK)) AS w", start=date(2024, 1, 1), end=date(2024, 1, 20))
    assert [r[0] for r in weeks] == [date(2024, 1, 1), date(2024, 1, 8), date(2024, 1, 15)]


@pytest.mark.parametrize(("day", "expected"), [
    (SUNDAY, 1), (date(2024, 3, 4), 2), (WEDNESDAY, 4), (date(2024, 3, 9), 7)])
def test_extract_dayofweek_counts_sunday_as_one(con, day, expected):
    assert one(con, "SELECT EXTRACT(DAYOFWEEK FROM @d)", d=day) == expected


def test_extract_week_numbers_follow_bigquery(con):
    # 2023-01-01 is a Sunday: BigQuery WEEK (Sunday start) = 1, WEEK(MONDAY) = 0
    # (before the first Monday), ISOWEEK = 52 (it belongs to the last ISO week of 2022).
    got = one(con, "SELECT EXTRACT(WEEK FROM @d), EXTRACT(WEEK(MONDAY) FROM @d), "
                   "EXTRACT(ISOWEEK FROM @d)", d=date(2023, 1, 1))
    assert got == (1, 0, 52)


def test_extract_other_parts(con):
    got = one(con, "SELECT EXTRACT(YEAR FROM @d), EXTRACT(MONTH FROM @d), "
                   "EXTRACT(DAY FROM @d), EXTRACT(DAYOFYEAR FROM @d)", d=WEDNESDAY)
    assert got == (2024, 3, 6, 66)


def test_timestamp_trunc_and_date_of_timestamp_are_utc(con):
    ts = datetime(2024, 3, 4, 23, 30, 45, tzinfo=UTC)
    got = one(con, "SELECT TIMESTAMP_TRUNC(@ts, HOUR), TIMESTAMP_TRUNC(@ts, DAY), DATE(@ts)",
              ts=ts)
    assert got[0] == datetime(2024, 3, 4, 23, 0, tzinfo=UTC)
    assert got[1] == datetime(2024, 3, 4, tzinfo=UTC)
    assert got[2] == date(2024, 3, 4)


def test_naive_datetime_parameters_are_taken_as_utc(con):
    got = one(con, "SELECT COUNT(*) FROM t WHERE ts >= @since", since=datetime(2024, 3, 5))
    assert got == 3


# ------------------------------------------------------------------ arithmetic and nulls


def test_safe_divide_returns_null_on_zero(con):
    assert one(con, "SELECT SAFE_DIVIDE(@a, @b)", a=7, b=2) == 3.5
    assert one(con, "SELECT SAFE_DIVIDE(@a, @b)", a=7, b=0) is None


def test_ifnull_and_coalesce(con):
    assert one(con, "SELECT IFNULL(@x, 3), COALESCE(NULL, @y, 1)", x=None, y=2) == (3, 2)


def test_numeric_parameters_stay_exact(con):
    assert one(con, "SELECT @a + @b", a=Decimal("0.1"), b=Decimal("0.2")) == Decimal("0.3")


# ------------------------------------------------------------------ aggregates and windows


def test_count_distinct_and_countif(con):
    got = one(con, "SELECT COUNT(DISTINCT customer), COUNTIF(amount > 4), "
                   "COUNT(DISTINCT region) FROM t")
    assert got == (2, 3, 2)


def test_window_functions_and_qualify(con):
    rows = run(con, "SELECT customer, d, SUM(amount) OVER (PARTITION BY customer ORDER BY d "
                    "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running "
                    "FROM t ORDER BY customer, d")
    assert [r[2] for r in rows] == [10, 15, 7, 10]
    latest = run(con, "SELECT customer, amount FROM t WHERE TRUE QUALIFY ROW_NUMBER() OVER "
                      "(PARTITION BY customer ORDER BY d DESC) = 1 ORDER BY customer")
    assert latest == [("a", 5), ("b", 3)]


def test_lag_over_ordered_rows(con):
    rows = run(con, "SELECT amount, LAG(amount) OVER (ORDER BY d) AS prev FROM t ORDER BY d")
    assert [r[1] for r in rows] == [None, 10, 5, 7]


# ------------------------------------------------------------------ json and arrays


def test_json_value_returns_the_scalar_as_a_string(con):
    rows = run(con, "SELECT JSON_VALUE(extra, '$.k'), JSON_VALUE(extra, '$.n'), "
                    "JSON_VALUE(extra, '$.missing') FROM t ORDER BY d")
    assert rows[0] == ("v1", "2", None)
    assert rows[1] == ("v2", None, None)
    assert rows[2] == (None, None, None)


def test_in_unnest_array_parameter(con):
    sql = "SELECT COUNT(*) FROM t WHERE region IN UNNEST(@regions)"
    assert one(con, sql, regions=["north"]) == 2
    assert one(con, sql, regions=("north", "south")) == 3
    assert one(con, sql, regions=[]) == 0
    assert one(con, "SELECT COUNT(*) FROM t WHERE region NOT IN UNNEST(@r)", r=["north"]) == 1


def test_parameters_are_never_spliced_into_sql(con):
    evil = "north' OR '1'='1"
    compiled = bqsql.transpile("SELECT COUNT(*) FROM t WHERE region = @r")
    assert evil not in compiled.sql
    assert "$r" in compiled.sql
    assert one(con, "SELECT COUNT(*) FROM t WHERE region = @r", r=evil) == 0


# ------------------------------------------------------------------ helpers


def test_transpile_lists_parameters_in_first_use_order_once():
    compiled = bqsql.transpile("SELECT @b, @a, @b + 1")
    assert compiled.params == ("b", "a")


def test_transpile_is_cached():
    sql = "SELECT 1 AS cached_probe"
    assert bqsql.transpile(sql) is bqsql.transpile(sql)


def test_to_duckdb_gives_text_with_dollar_parameters():
    text = bqsql.to_duckdb("SELECT * FROM t WHERE tenant_id = @tenant")
    assert "$tenant" in text
    assert "@tenant" not in text


def test_missing_parameter_is_an_error_and_extras_are_ignored():
    with pytest.raises(ValueError, match="tenant"):
        bqsql.duckdb_params(("tenant",), {})
    assert bqsql.duckdb_params(("a",), {"a": 1, "unused": 2}) == {"a": 1}


def test_only_one_statement_is_allowed():
    with pytest.raises(ValueError):
        bqsql.transpile("SELECT 1; DROP TABLE t")


def test_invalid_sql_is_a_value_error():
    with pytest.raises(ValueError):
        bqsql.transpile("SELEC FROM WHERE")


def test_substitute_tables_only_touches_identifier_tokens():
    seen = []

    def resolve(name: str) -> str:
        seen.append(name)
        return f'"{name}"'

    out = bqsql.substitute_tables("SELECT '{not a table}' FROM {business_data} AS b", resolve)
    assert out == "SELECT '{not a table}' FROM \"business_data\" AS b"
    assert seen == ["business_data"]
    assert bqsql.table_tokens("FROM {a} JOIN {b_2} ON {x y}") == {"a", "b_2"}


def test_substitute_tables_propagates_unknown_table_errors():
    def resolve(name: str) -> str:
        raise LookupError(name)

    with pytest.raises(LookupError):
        bqsql.substitute_tables("SELECT * FROM {nope}", resolve)


@pytest.mark.parametrize(("sql", "read_only"), [
    ("SELECT 1", True), ("WITH a AS (SELECT 1 AS x) SELECT x FROM a", True),
    ("SELECT 1 UNION ALL SELECT 2", True), ("DELETE FROM t WHERE TRUE", False),
    ("INSERT INTO t (customer) VALUES ('x')", False), ("DROP TABLE t", False),
])
def test_transpile_tells_reads_from_writes(sql, read_only):
    assert bqsql.transpile(sql).read_only is read_only


@pytest.mark.parametrize("key", ["Ship Mode", 'a"b', "$x", "/y", "~0", "~1/", "é ü", "a.b",
                                 "it's", "[0]", "*", "$", "\\", "", "x'); DROP TABLE t; --"])
def test_a_json_field_named_by_a_parameter_is_read_whatever_its_name(key):
    """JSON_VALUE(extra[@key]) finds the key however it is spelled (DuckDB's own
    `extra[$key]` reads the key as a path and fails on quotes and backslashes)."""
    import json

    db = duckdb.connect()
    db.execute("CREATE TABLE t (extra JSON)")
    db.execute("INSERT INTO t VALUES ($j)", {"j": json.dumps({key: "42.5", "other": "no"})})
    t = bqsql.transpile("SELECT JSON_VALUE(extra[@k]) AS v, "
                        "SAFE_CAST(JSON_VALUE(extra[@k]) AS FLOAT64) AS n FROM t")
    assert db.execute(t.sql, bqsql.duckdb_params(t.params, {"k": key})).fetchall() \
        == [("42.5", 42.5)]
    assert db.execute(t.sql, {"k": key + "missing"}).fetchall() == [(None, None)]
    assert db.execute("SELECT COUNT(*) FROM t").fetchone() == (1,)

"""The holiday country a tenant's first upload implies: set only when the file names
exactly one country (a one-country currency, a country column's dominant value), never
from a shared currency or the decimal convention alone."""

from __future__ import annotations

import pytest

from shared.uploads.locale_hints import infer

HEADERS = ["date", "product", "amount"]


def _rows(amounts):
    return [[f"2024-01-{i % 28 + 1:02d}", "P", a] for i, a in enumerate(amounts)]


@pytest.mark.parametrize(("amounts", "country"), [
    (["£12.50", "£3.00", "£1,200.00"], "GB"),
    (["12.50 GBP", "3.00 GBP"], "GB"),
    (["₹1,20,000", "₹450"], "IN"),
    (["US$10", "US$12.5"], "US"),
    (["R$ 10,50", "R$ 3,00"], "BR"),
    (["CHF 10.50", "CHF 2"], "CH"),
])
def test_a_currency_of_one_country_names_it(amounts, country):
    found, reason = infer(HEADERS, _rows(amounts), "amount")
    assert found == country and reason


@pytest.mark.parametrize("amounts", [
    ["€12,50", "€3,00"],          # euro: twenty countries
    ["$12.50", "$3.00"],          # dollar sign: US, CA, AU, MX, ...
    ["¥1200", "¥300"],            # yen or yuan
    ["1.234,56", "12,50"],        # the decimal comma alone says nothing
    ["12.50", "3.00"],            # nothing at all
    ["£10", "£12", "CHF 3", "CHF 4"],  # two currencies
])
def test_a_shared_currency_or_none_leaves_the_country_unset(amounts):
    found, reason = infer(HEADERS, _rows(amounts), "amount")
    assert found is None and reason


def test_the_amount_header_may_carry_the_currency():
    rows = _rows(["12.50", "3.00"])
    assert infer(["date", "product", "Amount (GBP)"], rows, "Amount (GBP)")[0] == "GB"
    assert infer(["date", "product", "Amount (EUR)"], rows, "Amount (EUR)")[0] is None


def test_a_currency_column_names_the_currency():
    headers = ["date", "amount", "currency"]
    rows = [["2024-01-01", "10", "sek"], ["2024-01-02", "11", "SEK"]]
    assert infer(headers, rows, "amount")[0] == "SE"


@pytest.mark.parametrize(("values", "country"), [
    (["France"] * 40, "FR"),
    (["FR"] * 40, "FR"),
    (["Deutschland"] * 30, "DE"),
    (["United States"] * 20, "US"),
    (["USA"] * 20 + [""] * 5, "US"),
    (["GBR"] * 10, "GB"),
])
def test_a_country_column_with_one_dominant_country_names_it(values, country):
    rows = [["2024-01-01", "10", v] for v in values]
    found, reason = infer(["date", "amount", "Country"], rows, "amount")
    assert found == country and "Country" in reason


@pytest.mark.parametrize("values", [
    ["France"] * 20 + ["Belgium"] * 20,     # several countries
    ["Narnia"] * 20,                         # not a country
    ["north"] * 20,                          # a region column is not a country
])
def test_a_country_column_without_one_known_country_sets_nothing(values):
    rows = [["2024-01-01", "10", v] for v in values]
    header = "region" if values[0] == "north" else "country"
    assert infer(["date", "amount", header], rows, "amount")[0] is None


def test_a_currency_and_a_country_column_that_disagree_set_nothing():
    rows = [["2024-01-01", "£10", "France"], ["2024-01-02", "£12", "France"]]
    found, reason = infer(["date", "amount", "country"], rows, "amount")
    assert found is None and "several countries" in reason
    agree = [["2024-01-01", "£10", "UK"], ["2024-01-02", "£12", "United Kingdom"]]
    assert infer(["date", "amount", "country"], agree, "amount")[0] == "GB"

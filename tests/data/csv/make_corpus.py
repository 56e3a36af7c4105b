"""Regenerates the awkward-CSV corpus in this folder (python tests/data/csv/make_corpus.py).

Each case is written as raw bytes, so encodings, BOMs and line endings are exact. The
expected outcome of each file is in manifest.json (edited by hand, not generated).
"""

from __future__ import annotations

import codecs
from pathlib import Path

HERE = Path(__file__).resolve().parent

BASIC = "Order Date,Product,Region,Sales,Quantity\n" + "".join(
    f"2024-01-{d:02d},Widget {d},North,{d * 10}.50,{d}\n" for d in range(1, 6))


def rows(header: str, lines: list[str], nl: str = "\n") -> str:
    return nl.join([header, *lines]) + nl


def _placeholder(d: int, words: tuple[str, ...], number_suffix: str = ".25") -> str:
    """Every other line (d even) holds one of `words` instead of a number."""
    return words[(d // 2) % len(words)] if d % 2 == 0 else f"{d}{number_suffix}"


CASES: dict[str, bytes] = {
    "basic.csv": BASIC.encode(),
    "semicolon_decimal_comma.csv": rows(
        "Datum;Produkt;Umsatz;Menge",
        ["05.01.2024;Käse;1.234,50;2", "13.01.2024;Brot;12,75;1", "20.01.2024;Milch;0,99;3"],
    ).encode(),
    "tab_delimited.csv": rows("date\tproduct\tamount",
                              ["2024-02-01\tA\t10", "2024-02-02\tB\t20"]).encode(),
    "pipe_delimited.csv": rows("date|product|amount",
                               ["2024-02-01|A|10.5", "2024-02-02|B|20.25"]).encode(),
    "excel_sep_line.csv": rows("sep=;", ["Date;Amount;Region", "2024-03-01;5,5;EU",
                                         "2024-03-02;6,5;US"]).encode(),
    "utf8_bom.csv": codecs.BOM_UTF8 + BASIC.encode(),
    "utf16_le_bom.csv": BASIC.encode("utf-16"),
    "utf16_be_bom.csv": codecs.BOM_UTF16_BE + BASIC.encode("utf-16-be"),
    "cp1252.csv": rows("Date;Produit;Montant",
                       ["2024-01-05;Crème brûlée;3,50", "2024-01-06;Café € spécial;4,20"],
                       "\r\n").encode("cp1252"),
    "latin1.csv": rows("date,customer,amount",
                       ["2024-01-05,José Núñez,10", "2024-01-06,Zoë Ångström,12"]).encode(
                           "latin-1"),
    "quoted_newlines.csv": rows("date,product,amount",
                                ['2024-01-05,"Line one\nLine two",10',
                                 '2024-01-06,"Plain",11']).encode(),
    "quoted_delimiters.csv": rows("date,product,amount",
                                  ['2024-01-05,"Nuts, salted",10', '2024-01-06,"A; B",11']
                                  ).encode(),
    "escaped_quotes.csv": rows("date,product,amount",
                               ['2024-01-05,"The ""best"" cake",10', "2024-01-06,Tea,2"]
                               ).encode(),
    "currency_symbols.csv": rows("date,amount,qty",
                                 ['2024-01-05,"$1,234.50",1', "2024-01-06,€12.00,2",
                                  "2024-01-07,£3.25,3", "2024-01-08,USD 4.00,1"]).encode(),
    "negatives_parentheses.csv": rows("date,amount",
                                      ["2024-01-05,(12.50)", "2024-01-06,7.25",
                                       '2024-01-07,"(1,000.00)"']).encode(),
    "percent_extra.csv": rows("date,amount,discount",
                              ["2024-01-05,10,5%", "2024-01-06,20,10%"]).encode(),
    "thousands_separators.csv": rows("date,revenue",
                                     ['2024-01-05,"1,234,567.89"', '2024-01-06,"2,000"',
                                      "2024-01-07,15.5"]).encode(),
    "empty_lines.csv": ("\n" + "date,amount\n\n2024-01-05,1\n\n\n2024-01-06,2\n\n").encode(),
    "trailing_delimiters.csv": rows("date,amount,region,",
                                    ["2024-01-05,1,EU,", "2024-01-06,2,US,"]).encode(),
    "trailing_fields_no_header.csv": rows("date,amount",
                                          ["2024-01-05,1,", "2024-01-06,2,"]).encode(),
    "duplicate_headers.csv": rows("date,amount,amount",
                                  ["2024-01-05,1,100", "2024-01-06,2,200"]).encode(),
    "blank_headers.csv": rows("date,,amount", ["2024-01-05,x,1", "2024-01-06,y,2"]).encode(),
    "iso_timestamps_zones.csv": rows("timestamp,amount",
                                     ["2024-01-05T10:00:00+02:00,1",
                                      "2024-01-05T23:30:00Z,2",
                                      "2024-01-06 08:15:00-05:00,3",
                                      "2024-01-07T12:00:00.250+0100,4"]).encode(),
    "dmy_dates.csv": rows("date,amount", ["01/02/2024,1", "13/02/2024,2", "05/03/2024,3"]
                          ).encode(),
    "mdy_dates.csv": rows("date,amount", ["01/02/2024,1", "02/13/2024,2", "03/05/2024,3"]
                          ).encode(),
    "ambiguous_dates.csv": rows("date,amount", ["01/02/2024,1", "03/04/2024,2",
                                                "05/06/2024,3"]).encode(),
    "dmy_evidence_last_row.csv": rows(
        "date,amount",
        [f"{(i % 12) + 1:02d}/{(i % 12) + 1:02d}/2023,{i}" for i in range(2000)]
        + ["25/12/2023,1"]).encode(),
    "excel_serial_dates.csv": rows("Order Date,Sales",
                                   ["45292,10", "45293,20", "45294.5,30"]).encode(),
    "month_names.csv": rows("date,amount",
                            ["5 Jan 2024,1", "\"Jan 6, 2024\",2", "07-Feb-2024,3",
                             "\"March 3rd, 2024\",4"]).encode(),
    "dotted_two_digit_years.csv": rows("date,amount", ["13.01.24,1", "14.02.24,2"]).encode(),
    "empty.csv": b"",
    "whitespace_only.csv": b"\n\n  \r\n",
    "header_only.csv": b"date,amount\n",
    "binary_garbage.csv": bytes(range(256)) * 40,
    "no_date_column.csv": rows("product,amount", ["A,1", "B,2"]).encode(),
    "no_measure_column.csv": rows("date,product,region", ["2024-01-05,A,EU",
                                                          "2024-01-06,B,US"]).encode(),
    "unterminated_quote.csv": rows("date,product,amount",
                                   [f"2024-01-{d:02d},P,{d}" for d in range(1, 10)]
                                   + ['2024-01-10,"never closed,3']).encode(),
    "nul_bytes.csv": rows("date,product,amount",
                          ["2024-01-05,A\x00B,1", "2024-01-06,C,2"]).encode(),
    "mixed_line_endings.csv": b"date,amount\r\n2024-01-05,1\n2024-01-06,2\r2024-01-07,3\r\n",
    "some_bad_amounts.csv": rows("date,amount",
                                 [f"2024-01-{d:02d},{d}" for d in range(1, 10)]
                                 + ["2024-01-10,lots"]).encode(),
    "too_many_bad_rows.csv": rows("date,amount",
                                  [f"2024-01-{d:02d},{d}" for d in range(1, 8)]
                                  + ["2024-01-08,x", "2024-01-09,y", "2024-01-10,z"]).encode(),
    "bad_and_missing_dates.csv": rows("date,amount",
                                      [f"2024-01-{d:02d},{d}" for d in range(1, 19)]
                                      + ["2024-13-45,1", ",2"]).encode(),
    "wrong_column_count.csv": rows("date,product,amount",
                                   [f"2024-01-{d:02d},P,{d}" for d in range(1, 10)]
                                   + ["2024-01-10,P,10,extra,fields"]).encode(),
    "derived_amount.csv": rows("date,product,qty,unit price",
                               ["2024-01-05,A,2,9.99", "2024-01-06,B,3,1.50"]).encode(),
    "mapping_by_content.csv": rows("when_it_happened,label,howmuch",
                                   ["2024-01-05,A,1.5", "2024-01-06,B,2.5"]).encode(),
    "quantity_only.csv": rows("date,product,units", ["2024-01-05,A,3", "2024-01-06,B,4"]
                              ).encode(),
    "na_tokens.csv": rows("date,amount,quantity",
                          ["2024-01-05,N/A,2", "2024-01-06,NULL,1", "2024-01-07,5,"]).encode(),
    "decimal_comma_quoted.csv": rows("date,amount",
                                     ['2024-01-05,"12,50"', '2024-01-06,"3,75"']).encode(),
    "formula_injection.csv": rows("date,product,amount",
                                  [f"2024-01-{d:02d},P,{d}" for d in range(1, 10)]
                                  + ['2024-01-10,"=HYPERLINK(""http://x"")",=1+1']).encode(),
    "superstore_like_headers.csv": rows(
        "Row ID,Order ID,Order Date,Customer Name,Segment,Region,Category,Product Name,"
        "Sales,Quantity,Profit",
        ["1,CA-1,2024-01-05,Ann,Consumer,West,Furniture,Chair,100.5,2,10",
         "2,CA-2,2024-01-06,Bob,Corporate,East,Technology,Phone,200.25,1,-5"]).encode(),
    # Issue 16: a column whose header names the amount, the quantity or the date keeps
    # its role whatever its values; unreadable values are row errors (with examples)
    # counted against the reject limit, and a sale line without an amount is rejected.
    "amount_placeholders_over_limit.csv": rows(
        "Order Date,Product,Sales,Quantity",
        [f"2024-03-{d:02d},P{d},{_placeholder(d, ('TBD', 'pending', 'see note'))},{d}"
         for d in range(1, 21)]).encode(),
    # The reported export: more placeholders than numbers under a header that says
    # Sales, beside a quantity. It used to load with the amount dropped (revenue 0).
    "amount_placeholders_issue_case.csv": rows(
        "Order Date,Product,Sales,Quantity",
        [f"2024-04-{d:02d},P{d},"
         + (f"{d}.99" if d % 10 < 3 else ("TBD", "pending", "call", "#VALUE!")[d % 4])
         + f",{d % 3 + 1}" for d in range(1, 21)]).encode(),
    "date_mostly_placeholders.csv": rows(
        "Order Date,Sales",
        [f"{f'2024-04-{d:02d}' if d % 10 < 3 else ('unknown', 'later', 'Q2')[d % 3]},{d}"
         for d in range(1, 21)]).encode(),
    "amount_placeholders_under_limit.csv": rows(
        "date,product,amount",
        [f"2024-03-{d:02d},P{d},{({4: 'call', 9: 'TBD', 15: '#VALUE!'}).get(d, d)}"
         for d in range(1, 21)]).encode(),
    "amount_mostly_placeholders.csv": rows(
        "Datum;Produkt;Umsatz",
        [f"{d:02d}.03.2024;P{d};{'k.A.' if d % 5 < 3 else f'{d},50'}" for d in range(1, 21)]
    ).encode(),
    "quantity_placeholders_over_limit.csv": rows(
        "date,product,amount,qty",
        [f"2024-03-{d:02d},P{d},{d}.5,{_placeholder(d, ('a few', 'TBC', 'x2'))}"
         for d in range(1, 21)]).encode(),
    "quantity_placeholders_under_limit.csv": rows(
        "date,product,amount,qty",
        [f"2024-03-{d:02d},P{d},{d}.5,{'two' if d == 3 else '3 pcs' if d == 7 else d}"
         for d in range(1, 21)]).encode(),
    "date_placeholders_over_limit.csv": rows(
        "Order Date,Sales",
        [f"{f'2024-03-{d:02d}' if d % 2 else ('unknown', 'TBD', 'pending')[d % 3]},{d}"
         for d in range(1, 21)]).encode(),
    "date_placeholders_under_limit.csv": rows(
        "date,amount",
        [f"{({2: 'unknown', 11: 'Q3', 17: 'soon'}).get(d, f'2024-03-{d:02d}')},{d}"
         for d in range(1, 21)]).encode(),
    "missing_amounts_null_tokens.csv": rows(
        "date,product,amount,quantity",
        [f"2024-03-{d:02d},P{d},{({3: 'n/a', 6: 'NULL', 10: '--', 14: ''}).get(d, d)},"
         f"{({5: '', 8: 'N/A'}).get(d, 1)}" for d in range(1, 21)]).encode(),
    "missing_amounts_over_limit.csv": rows(
        "date,product,amount,quantity",
        [f"2024-03-{d:02d},P{d},{_placeholder(d, ('none', '-', '#N/A', 'nan'), '')},2"
         for d in range(1, 21)]).encode(),
    "missing_amounts_kept.csv": rows(
        "date,product,amount,quantity",
        [f"2024-03-{d:02d},P{d},{'n/a' if d % 4 == 0 else d},{d}" for d in range(1, 21)]
    ).encode(),
    "derived_amount_missing_price.csv": rows(
        "date,product,qty,unit price",
        ["2024-03-01,A,2,9.99", "2024-03-02,B,3,n/a", "2024-03-03,C,1,5"]).encode(),
    "amount_missing_filled_from_price.csv": rows(
        "date,product,amount,qty,unit price",
        [f"2024-03-{d:02d},P{d},"
         + ({2: ",3,1.5", 5: "n/a,2,n/a", 8: ",1,abc"}).get(d, f"{d},1,{d}")
         for d in range(1, 11)]).encode(),
    # Two exports of one shop that overlap (uploaded in this order by
    # tests/functions/test_upload_duplicates.py): 11-15 April are in both, their order
    # ids repeated, plus one new order on 12 April; a third without order ids overlaps
    # them both.
    "overlap_april.csv": rows(
        "Order Date,Order ID,Region,Sales",
        [f"2024-04-{d:02d},A-{d},{('North', 'South')[d % 2]},{10 * d}.25"
         for d in range(1, 16)]).encode(),
    "overlap_april_may.csv": rows(
        "Order Date,Order ID,Region,Sales",
        [f"2024-04-{d:02d},A-{d},{('North', 'South')[d % 2]},{10 * d}.25"
         for d in range(11, 16)]
        + ["2024-04-12,A-100,East,99.90"]
        + [f"2024-05-{d:02d},B-{d},West,{5 * d}.75" for d in range(1, 11)]).encode(),
    "overlap_no_order_id.csv": rows(
        "Order Date,Region,Sales",
        [f"2024-04-{d:02d},North,{d}.50" for d in range(14, 21)]).encode(),
    "header_word_inside_text_column.csv": rows(
        "date,Sales Rep,amount",
        ["2024-03-01,Ann,10", "2024-03-02,Bob,20", "2024-03-03,Cy,30"]).encode(),
}


def main() -> None:
    for name, data in CASES.items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(CASES)} files")


if __name__ == "__main__":
    main()

"""Writes orders.xls once: `python make_orders_xls.py` with xlwt 1.3.0 importable.

xlwt (the last writer of the legacy .xls format) is unmaintained, so it is not a
dependency; the file it wrote is kept beside this script instead.
"""

import datetime as dt
from pathlib import Path

import xlwt  # type: ignore[import-not-found]

ROWS = [("Order ID", "Order Date", "Product", "Sales", "Quantity"),
        ("A-1", dt.date(2024, 3, 1), "Tea", 12.5, 2),
        ("A-2", dt.date(2024, 3, 2), "Coffee", 30.25, 1),
        ("A-3", dt.date(2024, 3, 2), "Cocoa", "n/a", 3),
        ("A-4", dt.date(2024, 3, 5), "Tea", 7, 1)]
ROWS += [(f"A-{i}", dt.date(2024, 3, i), "Coffee", 10.0 + i, 1) for i in range(5, 11)]


def main() -> None:
    book = xlwt.Workbook()
    sheet = book.add_sheet("Orders")
    date = xlwt.easyxf(num_format_str="YYYY-MM-DD")
    for r, row in enumerate(ROWS):
        for c, value in enumerate(row):
            if isinstance(value, dt.date):
                sheet.write(r, c, value, date)
            else:
                sheet.write(r, c, value)
    book.save(str(Path(__file__).with_name("orders.xls")))


if __name__ == "__main__":
    main()

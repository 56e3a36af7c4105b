"""Customers: cohorts and retention, RFM segments, predicted lifetime value (BG/NBD and
Gamma-Gamma) and the at-risk list, computed per dataset version in the forecast task
and read back from the document store."""

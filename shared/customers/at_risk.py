"""The list to act on: customers of high past value (monetary score 4 or 5) whose
probability of still being active has fallen below one half, most valuable first; and
the insight line when their share of the customers grows."""

from __future__ import annotations

import pandas as pd

P_ALIVE_BELOW = 0.5
MIN_MONETARY_SCORE = 4


def flag(rfm: pd.DataFrame, p_alive: pd.Series) -> pd.Series:
    alive = p_alive.reindex(rfm.index)
    return (rfm["m"] >= MIN_MONETARY_SCORE) & (alive < P_ALIVE_BELOW)


def insight(share_now: float, share_before: float | None, since: str) -> str | None:
    """A sentence when the at-risk share grew by at least half a point."""
    if share_before is None or share_now - share_before < 0.005:
        return None
    return (f"At-risk customers rose from {share_before:.1%} to {share_now:.1%} of "
            f"customers since {since}: high-value customers whose chance of still being "
            "active fell below 50%.")


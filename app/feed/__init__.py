"""The change feed: the audit chain, public-safe, in commit order, with long polling on LISTEN/NOTIFY."""

"""wxbudget: change WeChat Pay product-coupon stock budgets safely."""

# The single source of the version (hatch reads it from here). A literal, not
# importlib.metadata: that import alone costs ~40 ms of every start-up.
__version__ = "0.1.0"

"""wxbudget: change WeChat Pay product-coupon stock budgets safely."""

from wxbudget.version import __version__

__all__ = ["__version__"]

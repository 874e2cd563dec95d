"""wxbudget: change WeChat Pay product-coupon stock budgets safely."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wxbudget")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"

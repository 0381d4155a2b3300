from tests.domains.web.setup_browser import chromium  # noqa: F401

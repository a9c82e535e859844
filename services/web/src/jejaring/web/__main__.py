"""`python -m jejaring.web`: serve the web app."""

import gc

# Off while the service is imported (about 15 % of that CPU); serve() collects once, freezes
# what lives as long as the process, and turns it back on.
gc.disable()

from jejaring.shared.web.serve import serve, settings_or_exit  # noqa: E402
from jejaring.web.app import create_app  # noqa: E402
from jejaring.web.settings import WebSettings  # noqa: E402


def main() -> None:
    settings = settings_or_exit(WebSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

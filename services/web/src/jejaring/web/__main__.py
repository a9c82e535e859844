"""`python -m jejaring.web`: serve the web app."""

from jejaring.shared.web.serve import serve, settings_or_exit
from jejaring.web.app import create_app
from jejaring.web.settings import WebSettings


def main() -> None:
    settings = settings_or_exit(WebSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

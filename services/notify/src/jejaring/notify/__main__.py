"""`python -m jejaring.notify`: serve notify."""

from jejaring.notify.app import create_app
from jejaring.notify.settings import NotifySettings
from jejaring.shared.web.serve import serve, settings_or_exit


def main() -> None:
    settings = settings_or_exit(NotifySettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

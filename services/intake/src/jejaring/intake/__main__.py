"""`python -m jejaring.intake`: serve intake."""

from jejaring.intake.app import create_app
from jejaring.intake.settings import IntakeSettings
from jejaring.shared.web.serve import serve, settings_or_exit


def main() -> None:
    settings = settings_or_exit(IntakeSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

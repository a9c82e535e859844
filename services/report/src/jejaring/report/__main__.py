"""`python -m jejaring.report`: serve report."""

from jejaring.report.app import create_app
from jejaring.report.settings import ReportSettings
from jejaring.shared.web.serve import serve, settings_or_exit


def main() -> None:
    settings = settings_or_exit(ReportSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

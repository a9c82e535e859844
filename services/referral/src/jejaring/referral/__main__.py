"""`python -m jejaring.referral`: serve referral."""

from jejaring.referral.app import create_app
from jejaring.referral.settings import ReferralSettings
from jejaring.shared.web.serve import serve, settings_or_exit


def main() -> None:
    settings = settings_or_exit(ReferralSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

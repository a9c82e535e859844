"""`python -m jejaring.referral`: serve referral."""

import gc

# Off while the service is imported (about 15 % of that CPU); serve() collects once, freezes
# what lives as long as the process, and turns it back on.
gc.disable()

from jejaring.referral.app import create_app  # noqa: E402
from jejaring.referral.settings import ReferralSettings  # noqa: E402
from jejaring.shared.web.serve import serve, settings_or_exit  # noqa: E402


def main() -> None:
    settings = settings_or_exit(ReferralSettings)
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()

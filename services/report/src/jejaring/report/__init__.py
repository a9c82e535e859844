"""Report: a read model of codes, dates and counts built from the events (CASES and
REFERRAL_EVENTS), the monthly report, its exports and the SIMFONI-PPA case export."""

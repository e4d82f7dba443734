"""The reason vocabulary shared by candidates, dispositions and verify (docs/rules.md).

Only names live here, no logic, so the verifier may import it without sharing a code path
with the solver.
"""

STOP_CONTACT = "stop_contact"
STATUS = "status"
DO_NOT_CALL = "do_not_call"
INVALID_NUMBER = "invalid_number"
COMPLAINT = "complaint"
THIRD_PARTY = "third_party"
WINDOW = "window"
HOLIDAY = "holiday"
CAP_CONTACT_DAY = "cap_contact_day"
CAP_CONTACT_ROLLING = "cap_contact_rolling"
MIN_GAP = "min_gap"
CAP_ACCOUNT_DAY = "cap_account_day"
CAP_ACCOUNT_7D = "cap_account_7d"
COOLDOWN = "cooldown"
NO_CONTACT = "no_contact"
NO_SEAT = "no_seat"
CAPACITY = "capacity"
LOWER_VALUE = "lower_value"
CALLBACK_SLOT = "callback_slot"

# rules that only verify reports (a plan breaking them is malformed, not merely unlucky)
OVERLAP = "overlap"
SEAT_SHIFT = "seat_shift"
SEAT_CAPACITY = "seat_capacity"
SEAT_ELIGIBILITY = "seat_eligibility"
CONTINUITY = "continuity"

ALL = (
    STOP_CONTACT, STATUS, DO_NOT_CALL, INVALID_NUMBER, COMPLAINT, THIRD_PARTY, WINDOW, HOLIDAY,
    CAP_CONTACT_DAY, CAP_CONTACT_ROLLING, MIN_GAP, CAP_ACCOUNT_DAY, CAP_ACCOUNT_7D, COOLDOWN,
    NO_CONTACT, NO_SEAT, CAPACITY, LOWER_VALUE, CALLBACK_SLOT,
    OVERLAP, SEAT_SHIFT, SEAT_CAPACITY, SEAT_ELIGIBILITY, CONTINUITY,
)

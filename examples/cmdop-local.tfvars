# The values that the examples and the guides leave to their reader, for a
# run against cmdop-local: pass this file with -var-file, as the examples
# test does (make examples-test). Secrets never go here: the staging admin
# token comes from TF_VAR_staging_admin_token, the other credentials from
# the CMDOP_* variables that cmdop-local prints.
#
# The second fleet that some examples manage. cmdop-local seeds only one;
# add this one with its test controls:
#
#   curl -s -X POST -H "Authorization: Bearer $CMDOP_LOCAL_CONTROL_TOKEN" \
#     -d '{"fleet_id":"3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"}' "$CMDOP_API_BASE_URL/_local/fleets"
staging_fleet_id = "3d4c0d8e-5b8a-4f0e-9a51-2f7d1c6b9e10"

# The leaked-token guide: the key prefix of the leaked secret, and when it
# leaked. This prefix matches no token: the guide's steps then find nothing
# and revoke nothing.
leaked_key_prefix = "cmdop_NoSuch"
leaked_at         = "2026-01-01T00:00:00Z"

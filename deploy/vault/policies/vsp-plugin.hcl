# The plugin's own policy: mint per-task tokens through the vsp-task role,
# and end them (and any lease they hold) when their task ends. Looking up
# and renewing its own login come with the default policy.
path "auth/token/create/vsp-task" {
  capabilities = ["update"]
}
path "auth/token/revoke-accessor" {
  capabilities = ["update"]
}
path "sys/leases/revoke" {
  capabilities = ["update"]
}

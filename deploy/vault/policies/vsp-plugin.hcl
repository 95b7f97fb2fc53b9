# The plugin's own policy: mint per-task tokens through the vsp-task role
# and nothing else. Looking up and renewing its own login come with the
# default policy.
path "auth/token/create/vsp-task" {
  capabilities = ["update"]
}

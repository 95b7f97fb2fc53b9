# A TLS certificate: the task's token may have the pki engine issue a
# certificate under the web role (its allowed domains bound the names).
path "pki/issue/web" {
  capabilities = ["update"]
}

# A database credential: the task's token may ask the database secrets
# engine for a short-lived login to the billing database (role billing).
path "database/creds/billing" {
  capabilities = ["read"]
}

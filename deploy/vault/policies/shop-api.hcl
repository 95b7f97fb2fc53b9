# What a task of the shop stack's api service may read.
path "secret/data/shop/api/*" {
  capabilities = ["read"]
}

# What a task of the shop stack's web service may read.
path "secret/data/shop/web/*" {
  capabilities = ["read"]
}

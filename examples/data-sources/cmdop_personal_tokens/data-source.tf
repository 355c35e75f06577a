# The calling user's active personal tokens whose names start with "laptop-",
# with when each expires.
data "cmdop_personal_tokens" "laptops" {
  status      = "active"
  name_prefix = "laptop-"
}

output "laptop_tokens" {
  value = {
    for t in data.cmdop_personal_tokens.laptops.tokens :
    t.name => coalesce(t.expires_at, "never")
  }
}

# Personal tokens unused for 30 days.
data "cmdop_personal_tokens" "idle" {
  status         = "active"
  unused_since   = timeadd(plantimestamp(), "-720h")
  created_before = timeadd(plantimestamp(), "-720h") # not the tokens made since
}

output "idle_personal_tokens" {
  value = [for t in data.cmdop_personal_tokens.idle.tokens : "${t.name} (${t.key_prefix}...)"]
}

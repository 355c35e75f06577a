terraform {
  required_providers {
    cmdop = {
      source = "cmdop/cmdop"
    }
    time = {
      source  = "hashicorp/time"
      version = ">= 0.9"
    }
  }
}

# Input validation: bad values are refused at plan time with the variable's own message.

mock_provider "aws" {}
mock_provider "random" {}
mock_provider "archive" {}

variables {
  name           = "site"
  vpc_id         = "vpc-0123456789abcdef0"
  subnet_ids     = ["subnet-0aaaaaaaaaaaaaaaa"]
  db_host        = "db.internal"
  db_password    = "correct-horse-battery"
  layer_zip_path = "tests/fixtures/lambda-fpm-layer-arm64.zip"
}

run "mount_path_must_be_under_mnt" {
  command = plan
  variables {
    mount_path = "/var/www/html"
  }
  expect_failures = [var.mount_path]
}

run "invoke_mode_is_an_enum" {
  command = plan
  variables {
    invoke_mode = "stream"
  }
  expect_failures = [var.invoke_mode]
}

run "origin_secret_must_be_long" {
  command = plan
  variables {
    origin_secret = "short"
  }
  expect_failures = [var.origin_secret]
}

run "name_is_dns_safe" {
  command = plan
  variables {
    name = "My_Site"
  }
  expect_failures = [var.name]
}

run "architecture_is_an_enum" {
  command = plan
  variables {
    architecture = "amd64"
  }
  expect_failures = [var.architecture]
}

run "log_retention_is_a_cloudwatch_value" {
  command = plan
  variables {
    log_retention_days = 31
  }
  expect_failures = [var.log_retention_days]
}

run "cron_minutes_in_range" {
  command = plan
  variables {
    cron_schedule_minutes = 0
  }
  expect_failures = [var.cron_schedule_minutes]
}

run "accessible_hosts_are_host_names" {
  command = plan
  variables {
    internet_access  = false
    accessible_hosts = ["https://api.wordpress.org/"]
  }
  expect_failures = [var.accessible_hosts]
}

run "provisioned_concurrency_is_a_count" {
  command = plan
  variables {
    provisioned_concurrency = 1.5
  }
  expect_failures = [var.provisioned_concurrency]
}

run "icu_layer_arn_is_a_versioned_layer_arn" {
  command = plan
  variables {
    icu_full_data = true
    icu_layer_arn = "arn:aws:lambda:eu-west-1:123456789012:layer:lambda-fpm-icu"
  }
  expect_failures = [var.icu_layer_arn]
}

run "arm64_reaches_function_and_layer" {
  command = plan
  variables {
    architecture = "arm64"
  }
  assert {
    condition     = aws_lambda_function.this.architectures == tolist(["arm64"]) && toset(aws_lambda_layer_version.this[0].compatible_architectures) == toset(["arm64"])
    error_message = "architecture must reach the function and the layer"
  }
}

run "metrics_namespace_is_not_aws" {
  command = plan
  variables {
    metrics_namespace = "AWS/Lambda"
  }
  expect_failures = [var.metrics_namespace]
}

run "server_timing_is_an_enum" {
  command = plan
  variables {
    server_timing = "viewers"
  }
  expect_failures = [var.server_timing]
}

run "alarm_topic_must_be_an_sns_arn" {
  command = plan
  variables {
    alarm_topic_arn = "arn:aws:sqs:eu-west-1:123456789012:queue"
  }
  expect_failures = [var.alarm_topic_arn]
}

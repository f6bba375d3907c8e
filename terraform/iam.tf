###############################################################################
# Function role: least privilege
# - ENIs in the VPC (AWS managed policy, scoped by AWS to the needed ec2 actions)
# - write its own log group only
# - mount and write EFS only through this site's access point
###############################################################################

resource "aws_iam_role" "function" {
  name_prefix = "${var.name}-fn-"
  description = "lambda-fpm function ${var.name}"
  tags        = local.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy_attachment" "vpc_access" {
  role       = aws_iam_role.function.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}

resource "aws_iam_role_policy" "function" {
  name = "lambda-fpm"
  role = aws_iam_role.function.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "Logs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = "${aws_cloudwatch_log_group.this.arn}:*"
      },
      {
        Sid      = "EfsThroughAccessPointOnly"
        Effect   = "Allow"
        Action   = ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]
        Resource = local.efs_file_system_arn
        Condition = {
          StringEquals = {
            "elasticfilesystem:AccessPointArn" = aws_efs_access_point.this.arn
          }
        }
      },
      ], length(var.install_source_s3_object_arns) == 0 ? [] : [
      {
        # The install command's s3:// archives: only the objects named here.
        Sid      = "InstallArchivesFromS3"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = var.install_source_s3_object_arns
      },
    ])
  })
}

data "aws_partition" "current" {}

###############################################################################
# Scheduler role: may invoke the `live` alias and nothing else
###############################################################################

resource "aws_iam_role" "scheduler" {
  count = var.cron_schedule_minutes == null ? 0 : 1

  name_prefix = "${var.name}-cron-"
  description = "EventBridge Scheduler: wp-cron for lambda-fpm ${var.name}"
  tags        = local.tags

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "scheduler" {
  count = var.cron_schedule_minutes == null ? 0 : 1

  name = "invoke-live-alias"
  role = aws_iam_role.scheduler[0].id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "lambda:InvokeFunction"
      Resource = aws_lambda_alias.live.arn
    }]
  })
}

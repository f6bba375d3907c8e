###############################################################################
# EFS: the site's files (WordPress, plugins, uploads). The function mounts it through an
# access point that pins the POSIX identity and a per-site root directory.
###############################################################################

resource "aws_efs_file_system" "this" {
  count = local.create_efs ? 1 : 0

  creation_token                  = "${var.name}-lambda-fpm"
  encrypted                       = true
  kms_key_id                      = var.efs_kms_key_arn
  performance_mode                = "generalPurpose"
  throughput_mode                 = var.efs_throughput_mode
  provisioned_throughput_in_mibps = var.efs_throughput_mode == "provisioned" ? var.efs_provisioned_throughput_mibps : null

  tags = merge(local.tags, { Name = "${var.name}-wordpress" })

  lifecycle {
    precondition {
      condition     = var.efs_throughput_mode != "provisioned" || var.efs_provisioned_throughput_mibps != null
      error_message = "efs_throughput_mode = provisioned needs efs_provisioned_throughput_mibps."
    }
  }
}

data "aws_efs_file_system" "existing" {
  count = local.create_efs ? 0 : 1

  file_system_id = var.efs_file_system_id
}

resource "aws_efs_backup_policy" "this" {
  count = local.create_efs ? 1 : 0

  file_system_id = aws_efs_file_system.this[0].id

  backup_policy {
    status = var.efs_backup ? "ENABLED" : "DISABLED"
  }
}

resource "aws_security_group" "efs" {
  count = local.create_efs ? 1 : 0

  name_prefix = "${var.name}-efs-"
  description = "EFS of lambda-fpm ${var.name}: NFS from the function only"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "${var.name}-efs" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "efs_from_function" {
  count = local.create_efs ? 1 : 0

  security_group_id            = aws_security_group.efs[0].id
  description                  = "NFS from the lambda-fpm function"
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
  referenced_security_group_id = aws_security_group.function.id
}

# count (not for_each) so subnets created in the same apply do not make the keys unknown.
resource "aws_efs_mount_target" "this" {
  count = local.create_efs ? length(var.subnet_ids) : 0

  file_system_id  = aws_efs_file_system.this[0].id
  subnet_id       = var.subnet_ids[count.index]
  security_groups = [aws_security_group.efs[0].id]
}

resource "aws_efs_access_point" "this" {
  file_system_id = local.efs_file_system_id

  posix_user {
    uid = var.efs_posix_user.uid
    gid = var.efs_posix_user.gid
  }

  root_directory {
    path = local.efs_root_directory

    creation_info {
      owner_uid   = var.efs_posix_user.uid
      owner_gid   = var.efs_posix_user.gid
      permissions = "0755"
    }
  }

  tags = merge(local.tags, { Name = "${var.name}-wordpress" })
}

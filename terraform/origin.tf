###############################################################################
# Origin, option 1 (default): a Function URL on the `live` alias
#
# Auth type NONE on purpose: CloudFront's Origin Access Control signs requests with SigV4,
# which for POST/PUT needs the viewer to send x-amz-content-sha256; plain HTML forms
# (wp-login.php, comments) cannot. Instead CloudFront adds a secret header to every origin
# request and the bridge answers 403 to any request without it (LAMBDA_FPM_ORIGIN_SECRET).
###############################################################################

resource "aws_lambda_function_url" "this" {
  count = local.use_url ? 1 : 0

  function_name      = aws_lambda_function.this.function_name
  qualifier          = aws_lambda_alias.live.name
  authorization_type = "NONE"
  invoke_mode        = var.invoke_mode == "response_stream" ? "RESPONSE_STREAM" : "BUFFERED"
}

# A public Function URL needs two resource-policy statements on the alias:
# 1. lambda:InvokeFunctionUrl for everyone, only for auth type NONE. (The provider's
#    aws_lambda_function_url also adds one, named FunctionURLAllowPublicAccess, but does not
#    track it; this one is managed, under its own id so the two never collide.)
resource "aws_lambda_permission" "function_url" {
  count = local.use_url ? 1 : 0

  statement_id           = "LambdaFpmFunctionUrlPublicAccess"
  action                 = "lambda:InvokeFunctionUrl"
  function_name          = aws_lambda_function.this.function_name
  qualifier              = aws_lambda_alias.live.name
  principal              = "*"
  function_url_auth_type = "NONE"
}

# 2. lambda:InvokeFunction for everyone, but ONLY through the Function URL (condition
#    lambda:InvokedViaFunctionUrl = true; required for Function URLs created since October
#    2025). Without that condition any AWS account could invoke the function directly with any
#    event, including the bridge's operations commands. The AWS provider exposes the condition
#    only from 6.29 (aws_lambda_permission.invoked_via_function_url); this module supports
#    every 6.x, so the statement is created through CloudFormation, which has supported
#    AWS::Lambda::Permission InvokedViaFunctionUrl since the change. Destroying the stack
#    removes the statement.
resource "aws_cloudformation_stack" "function_url_invoke" {
  count = local.use_url ? 1 : 0

  name = "${var.name}-function-url-invoke"
  tags = local.tags

  template_body = jsonencode({
    AWSTemplateFormatVersion = "2010-09-09"
    Description              = "lambda-fpm ${var.name}: lambda:InvokeFunction through the Function URL only"
    Resources = {
      InvokeViaFunctionUrl = {
        Type = "AWS::Lambda::Permission"
        Properties = {
          Action                = "lambda:InvokeFunction"
          FunctionName          = aws_lambda_alias.live.arn
          Principal             = "*"
          InvokedViaFunctionUrl = true
        }
      }
    }
  })
}

###############################################################################
# Origin, option 2: API Gateway HTTP API (payload 2.0, the same event shape as a Function URL)
###############################################################################

resource "aws_apigatewayv2_api" "this" {
  count = local.use_api ? 1 : 0

  name          = var.name
  description   = "lambda-fpm ${var.name} (origin of CloudFront)"
  protocol_type = "HTTP"
  tags          = local.tags

  lifecycle {
    precondition {
      condition     = var.invoke_mode == "buffered"
      error_message = "API Gateway HTTP APIs cannot stream responses: use invoke_mode = \"buffered\" or origin_type = \"function_url\"."
    }
  }
}

resource "aws_apigatewayv2_integration" "this" {
  count = local.use_api ? 1 : 0

  api_id                 = aws_apigatewayv2_api.this[0].id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_alias.live.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(var.timeout * 1000, 30000)
}

resource "aws_apigatewayv2_route" "this" {
  count = local.use_api ? 1 : 0

  api_id    = aws_apigatewayv2_api.this[0].id
  route_key = "$default"
  target    = "integrations/${aws_apigatewayv2_integration.this[0].id}"
}

resource "aws_apigatewayv2_stage" "this" {
  count = local.use_api ? 1 : 0

  api_id      = aws_apigatewayv2_api.this[0].id
  name        = "$default"
  auto_deploy = true
  tags        = local.tags
}

resource "aws_lambda_permission" "api_gateway" {
  count = local.use_api ? 1 : 0

  statement_id  = "AllowApiGatewayInvoke"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  qualifier     = aws_lambda_alias.live.name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.this[0].execution_arn}/*/*"
}

locals {
  # host name of the origin, without scheme and trailing slash
  origin_url    = local.use_url ? aws_lambda_function_url.this[0].function_url : aws_apigatewayv2_api.this[0].api_endpoint
  origin_domain = trimsuffix(trimprefix(local.origin_url, "https://"), "/")
}

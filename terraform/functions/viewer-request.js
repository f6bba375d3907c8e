// CloudFront Function (viewer request, cloudfront-js-2.0), managed by Terraform.
// The origin (Lambda Function URL or API Gateway) only accepts its own Host header, so the
// origin request policy forwards every viewer header except Host. The viewer's host travels
// in X-Forwarded-Host instead; whatever a client sent in X-Forwarded-Host is overwritten so it
// cannot spoof the site's host. The bridge trusts X-Forwarded-Host only on requests that carry
// the origin secret header, which CloudFront adds after this function runs.
function handler(event) {
  var request = event.request;
  var host = request.headers.host ? request.headers.host.value : '';
  request.headers['x-forwarded-host'] = { value: host };
  // The viewer's IP for the bridge's REMOTE_ADDR (CloudFront-Viewer-Address cannot be forwarded
  // together with "all headers except Host"); overwrites any client-sent value.
  request.headers['x-viewer-address'] = { value: event.viewer.ip };
  return request;
}

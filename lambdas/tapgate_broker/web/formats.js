// The two ways the page hands out AWS credentials: shell export lines, and the JSON
// that an AWS CLI / SDK `credential_process` prints. Pure functions, no DOM.

/** Quote for POSIX sh: single quotes, with any single quote spelled '\''. */
export function shellQuote(value) {
  return `'${String(value).replace(/'/g, "'\\''")}'`;
}

/** `export NAME='value'` lines for the AWS CLI and SDKs' environment provider. */
export function exportLines(credentials) {
  const lines = [
    ["AWS_ACCESS_KEY_ID", credentials.AccessKeyId],
    ["AWS_SECRET_ACCESS_KEY", credentials.SecretAccessKey],
    ["AWS_SESSION_TOKEN", credentials.SessionToken],
  ];
  if (credentials.Expiration) lines.push(["AWS_CREDENTIAL_EXPIRATION", credentials.Expiration]);
  return lines.map(([name, value]) => `export ${name}=${shellQuote(value)}`).join("\n");
}

/** The credential_process document (Version 1), nothing else from the API's answer. */
export function processJSON(credentials) {
  const document = {
    Version: 1,
    AccessKeyId: credentials.AccessKeyId,
    SecretAccessKey: credentials.SecretAccessKey,
    SessionToken: credentials.SessionToken,
  };
  if (credentials.Expiration) document.Expiration = credentials.Expiration;
  return JSON.stringify(document, null, 2);
}

/** The role's short name from its ARN: arn:aws:iam::123:role/path/Name -> Name. */
export function roleName(arn) {
  return String(arn).split("/").pop();
}

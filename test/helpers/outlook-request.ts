/** An Outlook POX Autodiscover request (the shape of request-outlook.xml); no test framework, so bench/ can use it too. */
export function outlookRequest(address: string): string {
  return [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">',
    "  <Request>",
    `    <EMailAddress>${address}</EMailAddress>`,
    "    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>",
    "  </Request>",
    "</Autodiscover>",
    "",
  ].join("\n");
}

"""SpiceCSM's own URL paths: mockspice serves them (DESIGN.md) and its client calls them."""

#: The JSON-RPC API (spicecsm-facts.md, "The JSON-RPC API").
API_PATH = "/api/spiceAPIServer/spiceAPIServer.php"
#: The telephony screen pop (integration page, "Telephony Screen Pop").
POP_PATH = "/integrations/telephony/telephonypop.php"

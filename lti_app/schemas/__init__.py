"""marshmallow schemas for requests and responses; the OpenAPI document is built from them."""

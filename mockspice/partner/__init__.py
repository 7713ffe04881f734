"""The reference partner: a separate Flask app answering SpiceCSM's web calls, as a template to
copy.
"""

from mockspice.partner.app import create_partner_app, partner_accounts, serve_partner

__all__ = ["create_partner_app", "partner_accounts", "serve_partner"]

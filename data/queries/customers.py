"""One customer as the office sees it on the phone: profile, contacts, sites, assets, contracts, what is still owed.

Payment status is what the accounting connectors last pulled (`accounting_invoices`, `payments`): Dispatch never
asks the accounting system here, it reads what is stored, and says when that was.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import select

from data.db import Database
from data.errors import NotFound
from data.models.customers import Asset, Contact, Contract, Customer, Site
from data.models.field import CANCELLED_INVOICE_STATUSES, InvoiceDraft, InvoiceStatus
from data.models.jobs import Job
from data.models.payments import AccountingInvoice, AccountingInvoiceStatus, Payment
from data.services.record_kinds import KINDS
from data.services.records import describe

PAYMENTS_SHOWN = 10


def _asset(a: Asset, site: str) -> dict[str, Any]:
    return {"site": site, "serial": a.serial, "kind": a.kind, "model": a.model, "warranty_end": a.warranty_end}


def _contract(k: Contract) -> dict[str, Any]:
    return {
        "code": k.code,
        "name": k.name,
        "sla_response_hours": k.sla_response_hours,
        "valid_from": k.valid_from,
        "valid_to": k.valid_to,
    }


def customer_profile(db: Database, code: str) -> dict[str, Any]:
    with db.read() as s:
        customer = s.scalar(select(Customer).where(Customer.code == code))
        if customer is None:
            raise NotFound(f"customer {code} does not exist (see `dispatch customers list`)")
        contacts = s.scalars(
            select(Contact).where(Contact.customer_id == customer.id).order_by(Contact.primary.desc(), Contact.id)
        )
        sites = list(s.scalars(select(Site).where(Site.customer_id == customer.id).order_by(Site.code)))
        site_codes = {site.id: site.code for site in sites}
        assets = s.scalars(
            select(Asset).where(Asset.site_id.in_(list(site_codes))).order_by(Asset.site_id, Asset.serial)
        )
        contracts = s.scalars(select(Contract).where(Contract.customer_id == customer.id).order_by(Contract.code))
        open_invoices = s.execute(
            select(InvoiceDraft, Job.ref)
            .join(Job, Job.id == InvoiceDraft.job_id)
            .where(
                InvoiceDraft.customer_id == customer.id,
                InvoiceDraft.status.not_in([*CANCELLED_INVOICE_STATUSES, InvoiceStatus.PAID]),
            )
            .order_by(InvoiceDraft.issued_on, InvoiceDraft.ref)
        ).all()
        remote = {
            a.invoice_id: a
            for a in s.scalars(select(AccountingInvoice).where(AccountingInvoice.customer_id == customer.id))
            if a.invoice_id is not None
        }
        pulled = list(s.scalars(select(AccountingInvoice).where(AccountingInvoice.customer_id == customer.id)))
        payments = list(
            s.scalars(
                select(Payment)
                .where(Payment.customer_id == customer.id)
                .order_by(Payment.paid_on.desc(), Payment.id.desc())
                .limit(PAYMENTS_SHOWN)
            )
        )
        unpaid = [a for a in pulled if a.status in (AccountingInvoiceStatus.OPEN, AccountingInvoiceStatus.PARTLY_PAID)]
        return {
            **describe(s, KINDS["customers"], customer),  # the record as `customers edit` takes it
            "preferences": dict(customer.preferences or {}),
            "contacts": [
                {"name": c.name, "role": c.role, "phone": c.phone, "email": c.email, "primary": c.primary}
                for c in contacts
            ],
            "sites": [
                {"code": site.code, "name": site.name, "address": site.address, "city": site.city} for site in sites
            ],
            "assets": [_asset(a, site_codes[a.site_id]) for a in assets],
            "contracts": [_contract(k) for k in contracts],
            "open_invoices": [
                {
                    "ref": inv.ref,
                    "job": job_ref,
                    "issued_on": inv.issued_on,
                    "status": inv.status,
                    "total": inv.total,
                    "currency": inv.currency,
                    "balance": remote[inv.id].balance if inv.id in remote else None,
                    "accounting_status": remote[inv.id].status if inv.id in remote else None,
                }
                for inv, job_ref in open_invoices
            ],
            "payment_status": {
                "pulled_invoices": len(pulled),
                "unpaid_invoices": len(unpaid),
                "balance_due": sum((a.balance for a in unpaid), Decimal("0.00")),
                "last_pulled_at": max((a.updated_at for a in pulled), default=None),
                "recent_payments": [
                    {"paid_on": p.paid_on, "amount": p.amount, "currency": p.currency, "system": p.system}
                    for p in payments
                ],
            },
        }

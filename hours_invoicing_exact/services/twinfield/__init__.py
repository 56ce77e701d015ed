"""Everything that speaks Twinfield (Wolters Kluwer), without Odoo.

Public API for the Odoo side (connection, controller, mappings, outbox wiring)
==============================================================================

OpenID Connect (:mod:`.oidc`)
    ``TwinfieldOIDC(client_id, client_secret, redirect_uri, login_host=LOGIN_HOST,
    clock=None, timeout=30)``
        ``authorize_url(state, nonce) -> str`` (scopes :data:`.oidc.SCOPES`; get ``state``
        and ``nonce`` from ``new_state_and_nonce()`` and keep them in the session; the
        controller checks ``state`` on the callback);
        ``exchange_code(code, nonce) -> TokenState`` (HTTP Basic; the ID token's nonce is
        compared); ``refresh(refresh_token) -> TokenState`` (the refresh token is reusable and
        kept); ``validate(access_token) -> ClusterInfo(cluster_url, organisation_code,
        organisation_user_code, expires_at, scopes)``.
        A refused code or refresh raises ``ReconnectNeeded`` (set *reconnect needed* + activity).
    ``TwinfieldTokenManager(store, oidc, clock=None, margin=45)``
        ``connect(code, nonce)``, ``access_token()`` (refreshes under ``store.lock_and_load()``
        in the last ``margin`` seconds of the one-hour token), ``renew_after_denied(token)``,
        ``reload()``. ``store`` implements ``exact.oauth.TokenStore`` (``load()``,
        ``lock_and_load()`` context manager, ``save(TokenState)``): the Odoo side backs it by
        the connection row (``SELECT ... FOR UPDATE``, save in its own committed cursor).

Fair use (:mod:`.credits`)
    ``CreditBudget(store, limit=limit_for(certified), clock=None, max_wait=None)``:
    ``spend(credits)`` before each call (waits for the minute to turn, or raises
    ``CreditBudgetExhausted(reset_at)`` beyond ``max_wait``), ``blocked(retry_after)`` after a
    429; optional ``app_store=``/``app_limit=app_limit_for(certified)`` adds the client id's
    own bucket (50/1000 a minute over all organisations). ``store`` implements
    ``CreditStore.update(change)``: apply ``change(CreditWindow) -> CreditWindow`` under a
    lock shared by all workers and persist (Odoo: one row per
    (client id, organisation) locked ``FOR UPDATE``; tests: ``MemoryCreditStore``,
    ``SqliteCreditStore``). ``READ_CREDITS = 1``, ``WRITE_CREDITS = 3``,
    ``UNCERTIFIED_LIMIT = 25``, ``CERTIFIED_LIMIT = 500`` (a minute, per organisation).

SOAP client (:mod:`.client`)
    ``TwinfieldClient(cluster_url, office, tokens, budget, clock=None, timeout=(10, 300))``:
    ``process_xml(request) -> lxml element`` through ``zeep`` and the shipped
    ``wsdl/processxml.wsdl`` (``ProcessXmlString`` only; header AccessToken, CompanyCode =
    office, CompanyId nil). Writes never repeated on an unknown outcome (``OutcomeUnknown``).

Reference data (:mod:`.reference`)
    ``TwinfieldReference(client)``: ``offices()``, ``gl_accounts()`` (BAS + PNL, codes as
    text), ``customers()``, ``dimensions(dimtype)``, ``vat_codes()`` (``percentage`` Decimal),
    ``periods(year) -> [{"period": "YYYY/PP", "open": bool}]``,
    ``create_customer({"code", "name", "vat_number", "coc_number", "country", "city",
    "postcode", "street", "email"}) -> code``. ``match_customer(customers, vat_number=,
    coc_number=, code=)`` matches VAT number, then KvK, then code. Each read costs 1 credit:
    read once and cache.

Outbox adapters (:mod:`.adapters`, for :class:`..outbox.OutboxEngine`)
    ``TwinfieldSalesAdapter(client, code="VRK", vat_style="vatvalue"|"vat_lines",
    batch_size=50, lookup_chunk=100, raise_warnings=False)`` - payload of one invoice or
    credit note::

        {"number": "INV/2024/00001",        # Odoo's number = <invoicenumber> = the reference
         "date": "2024-01-31", "due_date": "2024-02-29", "period": "2024/01" (optional),
         "currency": "EUR", "customer": "1000", "receivable_account": None,
         "credit_note": False, "description": "...",
         "lines": [{"gl_account": "8000", "vat_code": "VH", "amount": "100.00",
                    "vat_amount": "21.00", "description": "...", "cost_centre": None}]}

    ``TwinfieldJournalAdapter(client, code="MEMO", ...)`` - payload of one memorial entry,
    built from a ``journal.Entry`` (``vat_rounding="odoo"``) with
    ``journal_payload(entry, gl_codes, relation_codes, invoice_numbers=None)``::

        {"reference": "ACME-MEMO-2024-03-1", "date": "2024-03-31", "period": "2024/03",
         "currency": "EUR", "code": "MEMO",
         "lines": [{"gl_account": "8000", "amount": "-1000.00", "vat_code": "VH",
                    "vat_amount": "-210.00", "relation": None, "invoice_number": None,
                    "description": "..."}]}        # amounts signed: + debit, - credit

    Both: ``post_batch(payloads) -> [(remote_id, number) | TwinfieldRejected |
    OutcomeUnknown]`` (one ``<transactions>`` call, 3 credits), ``post(payload)``,
    ``lookup(references) -> {reference: (remote_id, number)}`` (browse code 100, one read per
    ``lookup_chunk``), ``read_lines(references) -> [{"reference", "number", "type",
    "gl_account", "relation", "vat_code", "amount"}]`` (signed amounts as Twinfield stored
    them, generated VAT lines included: for reconciliation), ``warnings``
    ``{reference: [texts]}``; ``is_closed=lambda "YYYY/PP": bool`` refuses a closed period
    without a call. ``remote_id`` is ``"office/code/number"``. A "duplicate invoice number"
    refusal is looked up at once. Engine: ``OutboxEngine(repository, adapter)`` sends
    ``post_batch_size`` records per call (each marked sending first).

Errors (:mod:`.errors`) - subclasses of the engine's: ``TwinfieldRejected`` (record error in
Twinfield's words), ``TwinfieldRequestError``, ``OutcomeUnknown``, ``ReconnectNeeded``,
``TwinfieldAccessDenied``, ``TwinfieldUnavailable``, ``CreditBudgetExhausted``.

XML vocabulary (:mod:`.xml`): ``sales_transaction``, ``journal_transaction``,
``transactions``, ``parse_transactions``, ``browse_by_invoice_numbers``, ``parse_browse``,
``customer_dimension``, ``list_offices``, ``list_request``, ``period_of``, ``ymd``.

A local server for tests lives outside the addon, with the test tooling (not shipped).
"""

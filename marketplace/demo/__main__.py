"""`python -m marketplace.demo`: migrate, seed demo data (kept on re-runs), serve on $PORT."""
import os

from flask_migrate import upgrade

from .. import create_app
from .seed import ACCOUNTS, PASSWORD, seed


def main():
    app = create_app("demo")
    with app.app_context():
        upgrade()
        created = seed()
    port = int(os.environ.get("PORT", "5000"))
    print("\n  Rural cooperatives marketplace: demo", "(new demo data seeded)" if created else "(existing data kept)")
    print(f"  Open http://127.0.0.1:{port}/  Payments are in TEST MODE.\n  Demo accounts (password {PASSWORD}):")
    for email, role, _name in ACCOUNTS:
        print(f"    {role:<22} {email}")
    print()
    app.run(host="127.0.0.1", port=port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()

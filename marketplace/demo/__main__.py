"""`python -m marketplace.demo`: migrate, seed demo data (kept on re-runs), serve on $PORT."""
import os
import shutil
import subprocess

from flask_migrate import upgrade

from .. import ROOT, create_app
from .seed import ACCOUNTS, PASSWORD, seed


def install_hls_js():
    """hls.js for the live room's player, from the npm registry (package-lock.json), when
    npm is there and it is missing. Without it the room uses the browser's own HLS or a link."""
    if os.path.isdir(os.path.join(ROOT, "node_modules", "hls.js")) or not shutil.which("npm"):
        return
    try:
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=ROOT, check=False, timeout=300)
    except (OSError, subprocess.SubprocessError) as err:
        print(f"  npm ci failed ({err}); the live room plays HLS natively where the browser can.")


def main():
    install_hls_js()
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

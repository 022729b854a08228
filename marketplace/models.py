"""Every domain's models, imported in one place so that Alembic and the app see
the whole schema however few blueprints a process loads."""
from .auth import models as auth  # noqa: F401
from .catalog import models as catalog  # noqa: F401
from .coops import models as coops  # noqa: F401
from .core import audit  # noqa: F401
from .households import models as households  # noqa: F401
from .livestream import models as livestream  # noqa: F401
from .monitoring import models as monitoring  # noqa: F401
from .orders import models as orders  # noqa: F401
from .payments import models as payments  # noqa: F401

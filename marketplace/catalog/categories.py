"""Product categories: a stable code, shown translated."""
from flask_babel import lazy_gettext as _l

CATEGORIES = {
    "fungi": _l("Mushrooms & fungi"),
    "dried_vegetables": _l("Dried vegetables"),
    "grains": _l("Grains & oils"),
    "fruit": _l("Fruit"),
    "nuts": _l("Nuts & dried fruit"),
    "tea": _l("Tea"),
    "wine": _l("Wine & spirits"),
    "honey": _l("Honey"),
    "meat": _l("Meat & eggs"),
    "spices": _l("Spices & seasonings"),
    "handicraft": _l("Handicrafts"),
    "other": _l("Other"),
}

#: names a CSV may use for a category, in either language
ALIASES = {
    "菌菇": "fungi", "食用菌": "fungi", "干菜": "dried_vegetables", "蔬菜": "dried_vegetables",
    "粮油": "grains", "水果": "fruit", "坚果": "nuts", "茶叶": "tea", "茶": "tea", "酒": "wine",
    "酒水": "wine", "葡萄酒": "wine", "蜂蜜": "honey", "肉禽蛋": "meat", "调味品": "spices",
    "手工艺品": "handicraft", "其他": "other",
}


def category_code(value: str) -> str | None:
    text = (value or "").strip()
    if text in CATEGORIES:
        return text
    if text in ALIASES:
        return ALIASES[text]
    for code, label in CATEGORIES.items():
        if text.lower() == str(label).lower() or text.lower() == code.replace("_", " "):
            return code
    return None

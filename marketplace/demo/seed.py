"""Demo data: verified cooperatives from five provinces, their goods with pictures,
and one account of every kind. Seeding is skipped when the demo admin exists, so
re-running the demo keeps whatever was changed in it."""
from datetime import date, timedelta

from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.services import create_user
from ..catalog.services import add_image, create_product
from ..coops.models import CoopStatus
from ..coops.services import apply_for_cooperative, decide, invite_member
from ..extensions import db
from .pictures import draw_product_picture

PASSWORD = "demo-pass-2026"
ACCOUNTS = [
    ("admin@demo.example", "admin", "站点管理员 Admin"),
    ("staff@demo.example", "programme staff", "帮扶干部 Li Ming"),
    ("buyer@demo.example", "buyer", "城市买家 Wang Fang"),
    ("qinling@demo.example", "cooperative owner", "秦岭合作社 Zhang Wei"),
    ("datong@demo.example", "cooperative owner", "大同合作社 Liu Yan"),
    ("helan@demo.example", "cooperative owner", "贺兰山合作社 Ma Jun"),
    ("host@demo.example", "cooperative host", "主播 Chen Jing"),
]

# (owner email, cooperative fields, products: (title, category, unit, price_fen, stock, surplus, origin, description))
COOPERATIVES = [
    ("qinling@demo.example", dict(
        name="柞水县秦岭木耳专业合作社 Zhashui Qinling Wood-ear Cooperative", province="Shaanxi",
        county="柞水县 Zhashui", village="金米村 Jinmi", registration_no="93611026MA6YQL0001",
        contact_name="张伟", contact_phone="0914-4321000",
        story="金米村在秦岭南麓，海拔一千米的山林里种木耳已有三十年。2020年以前，村里木耳靠收购商压价，"
              "今年秋季的一批因为物流中断没有卖出去。合作社带动 126 户脱贫户种植、采摘和分拣。\n\n"
              "Jinmi village sits on the southern slopes of the Qinling Mountains. 126 formerly poor households "
              "grow, pick and sort wood-ear fungus here; this autumn's harvest was stranded when logistics failed."),
     [("秦岭黑木耳 Qinling black wood-ear fungus", "fungi", "250 g 袋 bag", 3980, 240, True, "陕西柞水 Zhashui, Shaanxi",
       "椴木种植，肉厚无根，泡发率高。Log-grown, thick and rootless; swells ten-fold when soaked."),
      ("小碗耳 Small-bowl wood-ear (premium)", "fungi", "500 g 袋 bag", 8900, 80, True, "陕西柞水 Zhashui, Shaanxi",
       "秋季头茬，朵小如碗。First autumn picking, each ear the size of a small bowl."),
      ("秦岭香菇 Qinling shiitake mushrooms", "fungi", "500 g 袋 bag", 4600, 150, False, "陕西柞水 Zhashui, Shaanxi",
       "花菇，炖汤香浓。Flower shiitake, rich in broths."),
      ("秦岭土蜂蜜 Qinling wild mountain honey", "honey", "500 g 瓶 jar", 6800, 60, True, "陕西柞水 Zhashui, Shaanxi",
       "中华蜂百花蜜，一年一取。Chinese honeybee, harvested once a year."),
      ("秦岭核桃 Qinling walnuts", "nuts", "1 kg 袋 bag", 3600, 200, False, "陕西商洛 Shangluo, Shaanxi",
       "薄皮核桃，手捏即开。Thin-shelled walnuts you can crack by hand."),
      ("猕猴桃干 Dried kiwi fruit slices", "fruit", "200 g 袋 bag", 2500, 120, True, "陕西周至 Zhouzhi, Shaanxi",
       "低温烘干，不加糖。Low-temperature dried, no added sugar."),
      ("木耳礼盒 Wood-ear gift box", "fungi", "礼盒 gift box (4 × 125 g)", 12800, 40, False,
       "陕西柞水 Zhashui, Shaanxi", "送礼佳品。Four kinds of wood-ear in one box."),
      ]),
    ("datong@demo.example", dict(
        name="大同市云州区黄花种植合作社 Datong Yunzhou Day Lily Cooperative", province="Shanxi",
        county="云州区 Yunzhou", village="唐家堡村 Tangjiabao", registration_no="93140215MA0KDL0002",
        contact_name="刘燕", contact_phone="0352-6200000",
        story="大同黄花有六百年种植史。每年七月凌晨四点，村民要在花蕾开放之前采摘。合作社收购 210 户的黄花，"
              "今年丰收，滞销近二十吨。\n\nDatong has grown day lilies for six hundred years. Pickers start at 4 a.m. "
              "in July, before the buds open. This year's bumper crop left almost twenty tonnes unsold."),
     [("大同黄花菜 Datong dried day lily", "dried_vegetables", "500 g 袋 bag", 4580, 500, True,
       "山西大同 Datong, Shanxi", "火山土种植，角长肉厚。Grown on volcanic soil; long, fleshy buds."),
      ("黄花菜礼盒 Day lily gift box", "dried_vegetables", "礼盒 gift box (2 × 250 g)", 9800, 90, True,
       "山西大同 Datong, Shanxi", "真空包装。Vacuum packed."),
      ("大同小米 Datong yellow millet", "grains", "2.5 kg 袋 bag", 3900, 300, False, "山西大同 Datong, Shanxi",
       "熬粥有米油。Makes a creamy congee."),
      ("苦荞面 Tartary buckwheat flour", "grains", "1 kg 袋 bag", 2800, 180, False, "山西广灵 Guangling, Shanxi",
       "石磨研磨。Stone-milled."),
      ("胡麻油 Cold-pressed flaxseed oil", "grains", "1 L 瓶 bottle", 6800, 70, True, "山西大同 Datong, Shanxi",
       "古法冷榨。Cold-pressed the old way."),
      ("黄花菜酱 Day lily chilli sauce", "spices", "200 g 瓶 jar", 1800, 240, True, "山西大同 Datong, Shanxi",
       "下饭神器。Good on everything."),
      ("恒山黄芪 Hengshan astragalus root slices", "other", "250 g 袋 bag", 5800, 50, False,
       "山西浑源 Hunyuan, Shanxi", "煲汤用。For soups."),
      ]),
    ("helan@demo.example", dict(
        name="贺兰山东麓葡萄酒合作社 Helan Mountain East Foothill Wine Cooperative", province="Ningxia",
        county="永宁县 Yongning", village="闽宁镇 Minning", registration_no="93640121MA76HL0003",
        contact_name="马军", contact_phone="0951-8000000",
        story="闽宁镇的移民村从戈壁上开出葡萄园。合作社把 88 户移民户的葡萄酿成酒，2023 年份的赤霞珠因为酒庄订单取消而积压。\n\n"
              "Migrant families of Minning turned gravel desert into vineyards. The 2023 Cabernet from 88 households "
              "was left in the cellar when a winery cancelled its order."),
     [("贺兰山赤霞珠干红 Helan Mountain Cabernet Sauvignon 2023", "wine", "750 ml 瓶 bottle", 12800, 120, True,
       "宁夏永宁 Yongning, Ningxia", "橡木桶陈酿 12 个月。Aged 12 months in oak."),
      ("贺兰山蛇龙珠 Cabernet Gernischt 2022", "wine", "750 ml 瓶 bottle", 15800, 60, False,
       "宁夏永宁 Yongning, Ningxia", "宁夏特色品种。Ningxia's signature grape."),
      ("霞多丽干白 Chardonnay 2024", "wine", "750 ml 瓶 bottle", 9800, 90, True, "宁夏永宁 Yongning, Ningxia",
       "清爽果香。Fresh and fruity."),
      ("中宁枸杞 Zhongning goji berries", "fruit", "500 g 袋 bag", 5900, 260, True, "宁夏中宁 Zhongning, Ningxia",
       "头茬红枸杞。First-picking red goji."),
      ("灵武长枣 Lingwu long jujubes", "fruit", "1 kg 箱 box", 4200, 100, False, "宁夏灵武 Lingwu, Ningxia",
       "脆甜。Crisp and sweet."),
      ("滩羊肉 Tan sheep lamb chops (frozen)", "meat", "1 kg 袋 bag", 16800, 30, False, "宁夏盐池 Yanchi, Ningxia",
       "冷链发货。Shipped frozen."),
      ("葡萄籽油 Grape seed oil", "grains", "500 ml 瓶 bottle", 7800, 45, True, "宁夏永宁 Yongning, Ningxia",
       "酿酒副产品再利用。Pressed from winery seeds."),
      ]),
    ("liangshan@demo.example", dict(
        name="昭觉县苦荞合作社 Zhaojue Tartary Buckwheat Cooperative", province="Sichuan",
        county="昭觉县 Zhaojue", village="三河村 Sanhe", registration_no="93513431MA6ALS0004",
        contact_name="吉克", contact_phone="0834-3300000",
        story="大凉山海拔两千米以上的彝族村寨，苦荞是主粮。\n\nIn Yi villages above 2,000 m in the Liangshan "
              "mountains, tartary buckwheat is the staple grain."),
     [("大凉山苦荞茶 Liangshan tartary buckwheat tea", "tea", "500 g 罐 tin", 3800, 300, True,
       "四川昭觉 Zhaojue, Sichuan", "全胚芽，麦香浓。Whole-germ, toasty."),
      ("凉山土豆 Liangshan highland potatoes", "dried_vegetables", "5 kg 箱 box", 3200, 150, True,
       "四川昭觉 Zhaojue, Sichuan", "高原种植。Grown at altitude."),
      ("汉源花椒 Hanyuan red Sichuan pepper", "spices", "100 g 袋 bag", 3600, 200, False,
       "四川汉源 Hanyuan, Sichuan", "麻香浓郁。Intensely numbing."),
      ("彝绣零钱包 Yi embroidered coin purse", "handicraft", "1 个 piece", 6800, 40, False,
       "四川昭觉 Zhaojue, Sichuan", "彝族妇女手工刺绣。Hand-embroidered by Yi women."),
      ("苦荞挂面 Tartary buckwheat noodles", "grains", "1 kg 袋 bag", 2600, 220, False,
       "四川昭觉 Zhaojue, Sichuan", "低 GI。Low glycaemic index."),
      ("凉山核桃 Liangshan walnuts", "nuts", "1 kg 袋 bag", 3300, 5, True, "四川昭觉 Zhaojue, Sichuan",
       "最后几袋。The last few bags."),
      ("野生蜂蜜 Wild cliff honey", "honey", "250 g 瓶 jar", 8800, 25, False, "四川昭觉 Zhaojue, Sichuan",
       "岩蜂蜜。From cliff-nesting bees."),
      ]),
    ("lancang@demo.example", dict(
        name="澜沧县古茶合作社 Lancang Ancient Tea Cooperative", province="Yunnan",
        county="澜沧县 Lancang", village="景迈村 Jingmai", registration_no="93530828MA6KLC0005",
        contact_name="岩温", contact_phone="0879-7200000",
        story="景迈山千年古茶林是世界文化遗产，布朗族和傣族茶农世代守护。\n\nThe thousand-year-old tea forests of "
              "Jingmai Mountain are a World Heritage site, tended by Blang and Dai farmers."),
     [("景迈山普洱生茶 Jingmai raw pu'er tea cake", "tea", "357 g 饼 cake", 26800, 50, False,
       "云南澜沧 Lancang, Yunnan", "古树春茶。Spring leaves from old trees."),
      ("普洱熟茶 Ripe pu'er tea", "tea", "357 g 饼 cake", 16800, 70, True, "云南澜沧 Lancang, Yunnan",
       "醇厚顺滑。Smooth and mellow."),
      ("云南小粒咖啡 Yunnan arabica coffee beans", "other", "500 g 袋 bag", 8800, 80, True,
       "云南普洱 Pu'er, Yunnan", "中度烘焙。Medium roast."),
      ("滇红 Dianhong black tea", "tea", "250 g 罐 tin", 9800, 90, False, "云南凤庆 Fengqing, Yunnan",
       "金毫显露。Golden tips."),
      ("芒果干 Dried mango", "fruit", "250 g 袋 bag", 2200, 160, True, "云南华坪 Huaping, Yunnan",
       "无添加。Nothing added."),
      ("傣族竹编篮 Dai bamboo basket", "handicraft", "1 个 piece", 12800, 15, False, "云南澜沧 Lancang, Yunnan",
       "手工编织。Hand-woven."),
      ("野生菌干 Dried wild mushroom mix", "fungi", "200 g 袋 bag", 9800, 35, True, "云南澜沧 Lancang, Yunnan",
       "牛肝菌、鸡枞。Porcini and termite mushrooms."),
      ]),
]


def seed() -> bool:
    """Create the demo data once. Returns False when it is already there. The household
    side (programme.py) checks each item by its natural key, so a demo database made
    before it existed gets it on the next run and nothing is seeded twice."""
    from .programme import seed_programme

    created = False
    if not db.session.scalar(select(User).where(User.email == "admin@demo.example")):
        _seed_marketplace()
        created = True
    created = seed_programme() > 0 or created
    db.session.commit()
    return created


def _seed_marketplace():
    users = {}
    for email, role, name in ACCOUNTS:
        site_role = Role.admin if role == "admin" else Role.staff if role == "programme staff" else Role.buyer
        users[email] = create_user(email, PASSWORD, name, role=site_role)
    for owner_email, _coop, _products in COOPERATIVES:
        if owner_email not in users:
            users[owner_email] = create_user(owner_email, PASSWORD, owner_email.split("@")[0], role=Role.buyer)
    for index, (owner_email, coop_fields, products) in enumerate(COOPERATIVES):
        _seed_cooperative(users, users[owner_email], coop_fields, products, index)
    _seed_pending_application()
    _seed_shows(users)
    db.session.flush()


def _seed_cooperative(users, owner, fields, products, index):
    coop = apply_for_cooperative(owner, fields)
    decide(users["staff@demo.example"], coop, "verify")
    if index == 0:
        invite_member(owner, coop, "host@demo.example", "host")
    harvest = date.today() - timedelta(days=40 + index * 7)
    for n, (title, category, unit, price, stock, surplus, origin, description) in enumerate(products):
        product = create_product(owner, coop, dict(
            title=title, category=category, unit=unit, price_fen=price, stock=stock, surplus=surplus,
            origin=origin, description=description, status="active", harvest_date=harvest,
            shelf_life_days=365 if category != "meat" else 180))
        add_image(owner, product, draw_product_picture(category, seed=index * 100 + n), alt=title)


def _seed_pending_application():
    applicant = create_user("applicant@demo.example", PASSWORD, "申请人 Applicant")
    apply_for_cooperative(applicant, dict(
        name="岢岚县红芸豆合作社 Kelan Red Kidney Bean Cooperative", province="Shanxi", county="岢岚县 Kelan",
        village="宋家沟村 Songjiagou", registration_no="93140929MA0KRB0006",
        story="等待审核的申请。An application waiting for review."))


DEMO_STREAM = "https://test-streams.mux.dev/x36xhzz/x36xhzz.m3u8"  #: a public HLS test stream


def _seed_shows(users):
    """One show live now (two products, one pinned) and one tomorrow at 20:00 China time."""
    from datetime import datetime, time
    from zoneinfo import ZoneInfo

    from flask import current_app

    from ..catalog.models import Product
    from ..coops.models import Cooperative
    from ..core.db import utcnow
    from ..livestream import chat, services
    from ..orders.models import Address

    coop = db.session.scalar(select(Cooperative).where(Cooperative.registration_no == "93611026MA6YQL0001"))
    products = {p.price_fen: p for p in db.session.scalars(select(Product).where(Product.cooperative_id == coop.id))}
    host, now = users["host@demo.example"], utcnow()
    db.session.flush()
    db.session.refresh(host)  # the membership added by the invitation above
    live = services.schedule(host, coop, {
        "title": "秦岭木耳晾晒现场 Wood-ear drying racks, live from Jinmi",
        "description": "看木耳怎样在秦岭的阳光下晒干。Watch the harvest dry in the Qinling sun.",
        "stream_url": DEMO_STREAM, "starts_at": now + timedelta(minutes=5), "ends_at": now + timedelta(hours=3)},
        [{"product_id": products[3980].id, "live_price_fen": 2990, "quota": 30, "per_buyer_limit": 5},
         {"product_id": products[6800].id, "live_price_fen": 5800, "quota": 10, "per_buyer_limit": 2}])
    services.start(host, live)
    with current_app.test_request_context(base_url=current_app.config["BASE_URL"]):  # image URLs in the pin card
        services.pin(host, live, products[3980].id)
    chat.post(users["buyer@demo.example"], live, "木耳泡发后有多大？How big do they get when soaked?")
    db.session.add(Address(user_id=users["buyer@demo.example"].id, name="王芳 Wang Fang", phone="13800000000",
                           province="北京 Beijing", city="北京 Beijing", address="朝阳区建国路 1 号 1 Jianguo Road"))
    tomorrow = datetime.combine(date.today() + timedelta(days=1), time(20, 0), tzinfo=ZoneInfo("Asia/Shanghai"))
    services.schedule(host, coop, {
        "title": "小碗耳头茬开售 First-picking small-bowl wood-ear",
        "description": "秋季头茬小碗耳，直播间专享价。The first autumn picking at a live-only price.",
        "stream_url": DEMO_STREAM, "starts_at": tomorrow, "ends_at": tomorrow + timedelta(hours=1, minutes=30)},
        [{"product_id": products[8900].id, "live_price_fen": 7900, "quota": 20, "per_buyer_limit": 3}])

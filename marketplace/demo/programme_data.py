"""The demo's households and benefit links: plain data, read by programme.py.

Villages and townships are real ones of the demo cooperatives' counties; file numbers
and identity numbers start with the county's region code (GB/T 2260), and the identity
numbers get their GB 11643 check character when seeded. None of them is a real person.
"""

# county region code -> (province, county as the cooperative writes it)
COUNTIES = {
    "611026": ("Shaanxi", "柞水县 Zhashui"),
    "140215": ("Shanxi", "云州区 Yunzhou"),
    "640121": ("Ningxia", "永宁县 Yongning"),
    "513431": ("Sichuan", "昭觉县 Zhaojue"),
    "530828": ("Yunnan", "澜沧县 Lancang"),
}

# (file_no, head, birth date YYYYMMDD, township, village, members, working, status, enrolled_at,
#  monthly wages yuan, monthly farming yuan, monthly subsidy yuan)
HOUSEHOLDS = [
    ("611026200101", "张德福 Zhang Defu", "19680312", "小岭镇 Xiaoling", "金米村 Jinmi", 4, 2, "stable",
     "2016-05-10", 2600, 900, 150),
    ("611026200102", "陈秀兰 Chen Xiulan", "19750821", "小岭镇 Xiaoling", "常湾村 Changwan", 3, 1, "assisted",
     "2017-03-02", 1500, 700, 300),
    ("611026200103", "李金山 Li Jinshan", "19590105", "营盘镇 Yingpan", "朱家湾村 Zhujiawan", 5, 3, "stable",
     "2016-09-18", 3800, 600, 100),
    ("140215200201", "王二虎 Wang Erhu", "19720416", "西坪镇 Xiping", "唐家堡村 Tangjiabao", 4, 2, "stable",
     "2016-04-01", 2900, 1100, 120),
    ("140215200202", "赵桂花 Zhao Guihua", "19801130", "西坪镇 Xiping", "坊城新村 Fangcheng", 3, 2, "monitored",
     "2018-06-20", 2200, 500, 200),
    #: his wages fall from 4,200 to 900 yuan in the last three months: the scan opens a case
    ("140215200203", "刘建国 Liu Jianguo", "19770708", "西坪镇 Xiping", "唐家堡村 Tangjiabao", 4, 2, "stable",
     "2017-11-15", 4200, 400, 100),
    ("640121200301", "马学军 Ma Xuejun", "19700219", "闽宁镇 Minning", "原隆村 Yuanlong", 5, 2, "stable",
     "2016-12-01", 3100, 1200, 150),
    ("640121200302", "海梅 Hai Mei", "19850603", "闽宁镇 Minning", "福宁村 Funing", 3, 1, "assisted",
     "2019-02-14", 1800, 800, 350),
    ("513431200401", "吉克阿依 Jike Ayi", "19820914", "解放乡 Jiefang", "火普村 Huopu", 6, 3, "stable",
     "2016-08-08", 3300, 900, 400),
    ("513431200402", "阿说木呷 Ashuo Muga", "19660127", "解放乡 Jiefang", "三河村 Sanhe", 4, 2, "monitored",
     "2017-05-22", 2000, 800, 450),
    ("530828200501", "岩恩 Yan En", "19780502", "惠民镇 Huimin", "景迈村 Jingmai", 4, 2, "stable",
     "2016-10-10", 2500, 1800, 100),
    ("530828200502", "玉儿 Yu Er", "19640918", "惠民镇 Huimin", "芒景村 Mangjing", 2, 1, "exited",
     "2016-03-30", 2400, 1500, 0),
]

DROPPING = "140215200203"
DROPPED_WAGES = 900  #: yuan a month, the last three months

# registration_no of the cooperative -> [(file_no, kind, product price_fen or None for the
# whole cooperative, share_bp, fixed_fen_per_unit)]; shares stay far under 100%
LINKS = {
    "93611026MA6YQL0001": [("611026200101", "supplier", 3980, 500, None),
                           ("611026200102", "wage", None, None, 200),
                           ("611026200103", "dividend", None, 300, None)],
    "93140215MA0KDL0002": [("140215200201", "supplier", 4580, None, 300),
                           ("140215200202", "land_lease", None, 200, None)],
    "93640121MA76HL0003": [("640121200301", "land_lease", None, 400, None),
                           ("640121200302", "wage", 12800, None, 500)],
    "93513431MA6ALS0004": [("513431200401", "supplier", 3800, 800, None),
                           ("513431200402", "dividend", None, 200, None)],
    "93530828MA6KLC0005": [("530828200501", "supplier", 16800, 600, None)],
}

# proposed by the cooperative and waiting for staff (the register's "approve" button):
# Datong offers the household whose wages fell work in its sorting shed
PROPOSED_LINKS = {"93140215MA0KDL0002": [("140215200203", "wage", None, None, 150)]}

# the demo buyer's paid orders: (reference, [(cooperative registration_no, product price_fen, quantity)],
# what happens next). Every approved link above earns from one of them.
ORDERS = [
    ("DEMO-ORDER-1", [("93611026MA6YQL0001", 3980, 3), ("93611026MA6YQL0001", 6800, 1),
                      ("93140215MA0KDL0002", 4580, 2)], "deliver"),
    ("DEMO-ORDER-2", [("93640121MA76HL0003", 12800, 3), ("93513431MA6ALS0004", 3800, 2),
                      ("93530828MA6KLC0005", 16800, 1)], "refund_one"),
]
REFUNDED_COOP = "93640121MA76HL0003"  #: one bottle of the three is refunded
SHIPPED_COOP = "93140215MA0KDL0002"  #: shipped and delivered

# (cooperative registration_no, file_no, amount_fen, reference)
PAYOUTS = [("93611026MA6YQL0001", "611026200101", 500, "DEMO-PAYOUT-0001 微信转账 WeChat Pay")]

"""Word lists for the synthetic catalogue: bilingual product kinds, places, phrases.

Each kind is (weight, zh name, en name, category, zh blurb, en blurb). Weights
are chosen so that a common search hits a realistic share of the catalogue:
木耳 about 2 % of products (black wood-ear and its gift box, plus the odd
recipe tip in other descriptions), "lily" about 2 % (day lily, lily bulbs,
day-lily sauce, jasmine-lily tea). `python -m bench storefront` prints the
measured shares after seeding.
"""

KINDS = [
    # fungi
    (0.8, "黑木耳", "black wood-ear fungus", "fungi", "椴木种植，肉厚无根，泡发率高",
     "log-grown, thick and rootless; swells ten-fold when soaked"),
    (0.25, "木耳礼盒", "wood-ear gift box", "fungi", "四种木耳一盒装，送礼佳品", "four kinds of wood-ear in one box"),
    (0.9, "小碗耳", "small-bowl ear fungus", "fungi", "秋季头茬，朵小如碗",
     "first autumn picking, each ear the size of a small bowl"),
    (1.2, "香菇", "shiitake mushrooms", "fungi", "花菇，炖汤香浓", "flower shiitake, rich in broths"),
    (0.8, "银耳", "white snow fungus", "fungi", "胶质厚，易出胶", "thick and gelatinous, ideal for sweet soups"),
    (0.5, "羊肚菌", "morel mushrooms", "fungi", "高山野生，菌盖完整", "wild from high slopes, whole caps"),
    (0.6, "猴头菇", "lion's mane mushroom", "fungi", "鲜嫩爽口", "tender with a seafood-like bite"),
    (0.5, "竹荪", "bamboo fungus", "fungi", "裙边完整，清香", "lacy veil intact, delicate aroma"),
    (0.8, "野生菌干", "dried wild mushroom mix", "fungi", "牛肝菌、鸡枞混装", "porcini and termite mushrooms"),
    # dried vegetables
    (0.4, "黄花菜", "dried day lily buds", "dried_vegetables", "火山土种植，角长肉厚", "grown on volcanic soil; long, fleshy buds"),
    (0.25, "百合干", "dried lily bulbs", "dried_vegetables", "鳞片肥厚，色白", "thick white scales"),
    (1.0, "笋干", "dried bamboo shoots", "dried_vegetables", "高山嫩笋晒制", "sun-dried young mountain shoots"),
    (0.8, "梅干菜", "preserved mustard greens", "dried_vegetables", "三蒸三晒", "steamed and sun-dried three times"),
    (0.9, "萝卜干", "dried radish strips", "dried_vegetables", "农家腌制，脆香", "farmhouse-pickled, crunchy"),
    (1.0, "高原土豆", "highland potatoes", "dried_vegetables", "高海拔种植，沙糯", "grown at altitude, floury and sweet"),
    (0.6, "蕨菜干", "dried fern shoots", "dried_vegetables", "山野采摘", "picked wild on the hillsides"),
    (0.6, "豇豆干", "dried cowpeas", "dried_vegetables", "自然晾晒", "air-dried"),
    # grains and oils
    (1.5, "小米", "yellow millet", "grains", "熬粥有米油", "makes a creamy congee"),
    (1.0, "苦荞面", "tartary buckwheat flour", "grains", "石磨研磨", "stone-milled"),
    (0.8, "胡麻油", "cold-pressed flaxseed oil", "grains", "古法冷榨", "cold-pressed the old way"),
    (1.6, "大米", "fragrant rice", "grains", "当季新米，一年一季", "this season's rice, one crop a year"),
    (0.9, "红芸豆", "red kidney beans", "grains", "颗粒饱满", "plump and even"),
    (0.8, "燕麦米", "naked oats", "grains", "高寒地区种植", "grown in the cold uplands"),
    (1.0, "菜籽油", "rapeseed oil", "grains", "压榨一级", "first-grade pressed"),
    (0.7, "玉米糁", "corn grits", "grains", "石磨粗粒", "coarse stone-ground"),
    (0.9, "手工挂面", "hand-pulled noodles", "grains", "晾晒七天", "air-dried for seven days"),
    # fruit
    (1.2, "猕猴桃", "kiwi fruit", "fruit", "绿心软糯，酸甜适中", "green-fleshed, sweet and tangy"),
    (1.3, "枸杞", "goji berries", "fruit", "头茬红枸杞", "first-picking red goji"),
    (1.2, "红枣", "red jujubes", "fruit", "脆甜", "crisp and sweet"),
    (0.8, "芒果干", "dried mango", "fruit", "无添加", "nothing added"),
    (1.3, "苹果", "apples", "fruit", "高原红富士，果面光洁", "highland Fuji apples, clean skins"),
    (1.0, "脐橙", "navel oranges", "fruit", "现摘现发", "picked to order"),
    (0.7, "柿饼", "dried persimmons", "fruit", "霜白软糯", "soft, with a natural sugar bloom"),
    # nuts
    (1.4, "核桃", "walnuts", "nuts", "薄皮核桃，手捏即开", "thin-shelled, crack them by hand"),
    (1.0, "板栗", "chestnuts", "nuts", "个大饱满，甜糯", "large, sweet and floury"),
    (0.9, "花生", "peanuts", "nuts", "沙地种植", "grown in sandy soil"),
    (0.5, "松子", "pine nuts", "nuts", "手剥开口", "hand-opened shells"),
    (0.8, "葵花籽", "sunflower seeds", "nuts", "原味炒制", "plain roasted"),
    # tea
    (0.8, "普洱生茶", "raw pu'er tea cake", "tea", "古树春茶", "spring leaves from old trees"),
    (0.7, "普洱熟茶", "ripe pu'er tea", "tea", "醇厚顺滑", "smooth and mellow"),
    (0.9, "红茶", "black tea", "tea", "金毫显露", "golden tips"),
    (0.8, "苦荞茶", "tartary buckwheat tea", "tea", "全胚芽，麦香浓", "whole-germ, toasty"),
    (1.1, "绿茶", "green tea", "tea", "明前采摘", "picked before Qingming"),
    (0.6, "白茶", "white tea", "tea", "日晒萎凋", "sun-withered"),
    (0.15, "百合花茶", "jasmine and lily flower tea", "tea", "花香清雅", "light and floral"),
    # wine and spirits
    (0.6, "赤霞珠干红", "Cabernet Sauvignon", "wine", "橡木桶陈酿 12 个月", "aged 12 months in oak"),
    (0.4, "霞多丽干白", "Chardonnay", "wine", "清爽果香", "fresh and fruity"),
    (0.7, "米酒", "sweet rice wine", "wine", "糯米酿造", "brewed from glutinous rice"),
    (0.5, "青稞酒", "highland barley spirit", "wine", "高原青稞酿制", "distilled from highland barley"),
    # honey
    (1.2, "土蜂蜜", "wild mountain honey", "honey", "中华蜂百花蜜，一年一取", "Chinese honeybee, harvested once a year"),
    (0.9, "槐花蜜", "acacia honey", "honey", "清甜不腻", "light and clear"),
    (0.6, "枣花蜜", "jujube blossom honey", "honey", "浓郁", "dark and rich"),
    (0.5, "蜂巢蜜", "honeycomb", "honey", "整脾切块", "cut straight from the frame"),
    # meat and eggs
    (1.0, "土鸡蛋", "free-range eggs", "meat", "林下散养", "hens ranging under the trees"),
    (0.7, "滩羊肉", "Tan sheep lamb", "meat", "冷链发货", "shipped chilled"),
    (0.8, "腊肉", "smoked cured pork", "meat", "柴火熏制", "smoked over wood fires"),
    (0.5, "牦牛肉干", "yak jerky", "meat", "风干手撕", "air-dried, torn by hand"),
    (0.6, "土鸡", "free-range chicken", "meat", "散养一年以上", "raised free for over a year"),
    # spices
    (0.9, "花椒", "red Sichuan pepper", "spices", "麻香浓郁", "intensely numbing"),
    (0.9, "辣椒面", "chilli flakes", "spices", "石臼舂制", "pounded in a stone mortar"),
    (0.5, "八角", "star anise", "spices", "大红八角", "large red pods"),
    (0.15, "黄花菜酱", "day lily chilli sauce", "spices", "下饭神器", "good on everything"),
    (0.7, "豆瓣酱", "broad bean chilli paste", "spices", "晒足一年", "sun-fermented for a year"),
    (0.8, "小黄姜", "small yellow ginger", "spices", "辛辣味足", "hot and pungent"),
    # handicrafts
    (0.4, "彝绣零钱包", "Yi embroidered coin purse", "handicraft", "彝族妇女手工刺绣", "hand-embroidered by Yi women"),
    (0.5, "竹编篮", "bamboo basket", "handicraft", "手工编织", "hand-woven"),
    (0.4, "蜡染桌布", "batik tablecloth", "handicraft", "传统蓝靛染色", "dyed with traditional indigo"),
    (0.3, "土布围巾", "hand-loomed scarf", "handicraft", "老式织机织成", "woven on an old loom"),
    (0.3, "苗银手镯", "Miao silver bracelet", "handicraft", "手工锻打", "hand-forged"),
    # other
    (0.5, "黄芪片", "astragalus root slices", "other", "煲汤用", "for soups"),
    (0.6, "小粒咖啡", "arabica coffee beans", "other", "中度烘焙", "medium roast"),
    (0.4, "三七粉", "notoginseng powder", "other", "三年生", "from three-year-old roots"),
    (0.4, "天麻", "gastrodia tuber", "other", "林下仿野生", "grown wild-style under forest"),
]

QUALIFIERS = [("", ""), ("", ""), ("", ""), ("特级", "premium"), ("有机", "organic"), ("头茬", "first-harvest"),
              ("农家", "farmhouse"), ("高山", "mountain"), ("新货", "new-season"), ("精选", "selected"),
              ("野生", "wild"), ("古法", "traditional")]

UNITS = {
    "fungi": ["250 g 袋 bag", "500 g 袋 bag", "200 g 罐 tin", "礼盒 gift box (4 × 125 g)"],
    "dried_vegetables": ["500 g 袋 bag", "1 kg 袋 bag", "5 kg 箱 box", "礼盒 gift box (2 × 250 g)"],
    "grains": ["1 kg 袋 bag", "2.5 kg 袋 bag", "5 kg 袋 bag", "1 L 瓶 bottle", "5 L 桶 can"],
    "fruit": ["500 g 袋 bag", "2.5 kg 箱 box", "5 kg 箱 box", "200 g 袋 bag"],
    "nuts": ["500 g 袋 bag", "1 kg 袋 bag", "250 g 罐 tin"],
    "tea": ["357 g 饼 cake", "250 g 罐 tin", "100 g 袋 bag", "500 g 罐 tin"],
    "wine": ["750 ml 瓶 bottle", "6 × 750 ml 箱 case", "500 ml 瓶 bottle"],
    "honey": ["500 g 瓶 jar", "250 g 瓶 jar", "1 kg 瓶 jar"],
    "meat": ["30 枚 eggs", "1 kg 袋 bag", "500 g 袋 bag", "1 只 whole bird"],
    "spices": ["100 g 袋 bag", "200 g 瓶 jar", "250 g 袋 bag"],
    "handicraft": ["1 个 piece", "1 套 set"],
    "other": ["250 g 袋 bag", "500 g 袋 bag", "100 g 瓶 jar"],
}

# Everyday sentences; each product gets two to four of them.
EXTRAS = [
    ("合作社带动 {n} 户脱贫户种植、采摘和分拣。", "{n} formerly poor households grow, pick and sort it."),
    ("今年丰收，仍有 {t} 吨滞销。", "A good year left {t} tonnes unsold."),
    ("顺丰冷链或包邮发货，偏远地区除外。", "Free shipping, except to remote areas."),
    ("开袋后请密封，置于阴凉干燥处。", "Reseal after opening and keep cool and dry."),
    ("每一单都有 {p}% 返还给建档立卡户。", "{p}% of every order goes back to registered households."),
    ("海拔 {h} 米，昼夜温差大。", "Grown at {h} m, with cold nights and warm days."),
    ("村里的老人手工挑拣，不合格的不发。", "Sorted by hand by village elders; rejects never ship."),
    ("质检报告可在合作社页面查看。", "Lab reports are on the cooperative's page."),
    ("适合送礼，也适合自家日常。", "A good gift, and good for every day."),
]

# Recipe tips that name other goods, as real descriptions do; each product gets
# one with probability TIP_RATE, adding a little noise to what a search finds.
TIPS = [("炖汤时可加入木耳和红枣。", "Try it in soup with wood-ear and jujubes."),
        ("配黄花菜炒肉更香。", "Even better stir-fried with day lily and pork.")]
TIP_RATE = 0.006

# (zh, en) syllables for county and village names: 安平县 Anping, 金米村 Jinmi ...
SYLLABLES = [("安", "An"), ("平", "ping"), ("金", "Jin"), ("米", "mi"), ("河", "He"), ("山", "shan"),
             ("石", "Shi"), ("林", "lin"), ("云", "Yun"), ("溪", "xi"), ("青", "Qing"), ("阳", "yang"),
             ("龙", "Long"), ("泉", "quan"), ("大", "Da"), ("同", "tong"), ("永", "Yong"), ("宁", "ning"),
             ("马", "Ma"), ("坪", "ping"), ("白", "Bai"), ("沙", "sha"), ("东", "Dong"), ("西", "xi"),
             ("南", "Nan"), ("北", "bei"), ("红", "Hong"), ("岩", "yan"), ("新", "Xin"), ("庄", "zhuang")]

SURNAMES = ["张", "王", "李", "刘", "陈", "杨", "赵", "黄", "周", "吴", "马", "吉克", "岩", "阿"]
GIVEN = ["伟", "芳", "军", "燕", "明", "静", "强", "丽", "勇", "华", "平", "兰", "温", "布"]

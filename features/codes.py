"""Names for the codes the data uses: hazardous-waste categories of the National List (国家危险废物名录,
2021 edition: HW01–HW50, HW41–HW44 withdrawn in 2016) and industries of GB/T 4754-2017 (国民经济行业
分类) at the levels the city's registry uses. One table of each, read by the evidence the service
presents, the page and the reasons; nobody repeats a category's name elsewhere."""

from __future__ import annotations

HW_CATEGORIES: dict[str, tuple[str, str]] = {
    "HW01": ("医疗废物", "medical waste"),
    "HW02": ("医药废物", "pharmaceutical waste"),
    "HW03": ("废药物、药品", "discarded medicines"),
    "HW04": ("农药废物", "pesticide waste"),
    "HW05": ("木材防腐剂废物", "wood preservative waste"),
    "HW06": ("废有机溶剂与含有机溶剂废物", "waste organic solvents"),
    "HW07": ("热处理含氰废物", "cyanide heat-treatment waste"),
    "HW08": ("废矿物油与含矿物油废物", "waste mineral oil"),
    "HW09": ("油/水、烃/水混合物或乳化液", "oil/water mixtures and emulsions"),
    "HW10": ("多氯（溴）联苯类废物", "PCB/PBB waste"),
    "HW11": ("精（蒸）馏残渣", "distillation residues"),
    "HW12": ("染料、涂料废物", "dye and paint waste"),
    "HW13": ("有机树脂类废物", "organic resin waste"),
    "HW14": ("新化学物质废物", "new chemical substance waste"),
    "HW15": ("爆炸性废物", "explosive waste"),
    "HW16": ("感光材料废物", "photographic material waste"),
    "HW17": ("表面处理废物", "surface treatment (plating) waste"),
    "HW18": ("焚烧处置残渣", "incineration residues"),
    "HW19": ("含金属羰基化合物废物", "metal carbonyl waste"),
    "HW20": ("含铍废物", "beryllium waste"),
    "HW21": ("含铬废物", "chromium waste"),
    "HW22": ("含铜废物", "copper waste"),
    "HW23": ("含锌废物", "zinc waste"),
    "HW24": ("含砷废物", "arsenic waste"),
    "HW25": ("含硒废物", "selenium waste"),
    "HW26": ("含镉废物", "cadmium waste"),
    "HW27": ("含锑废物", "antimony waste"),
    "HW28": ("含碲废物", "tellurium waste"),
    "HW29": ("含汞废物", "mercury waste"),
    "HW30": ("含铊废物", "thallium waste"),
    "HW31": ("含铅废物", "lead waste"),
    "HW32": ("无机氟化物废物", "inorganic fluoride waste"),
    "HW33": ("无机氰化物废物", "inorganic cyanide waste"),
    "HW34": ("废酸", "waste acid"),
    "HW35": ("废碱", "waste alkali"),
    "HW36": ("石棉废物", "asbestos waste"),
    "HW37": ("有机磷化合物废物", "organophosphorus waste"),
    "HW38": ("有机氰化物废物", "organic cyanide waste"),
    "HW39": ("含酚废物", "phenol waste"),
    "HW40": ("含醚废物", "ether waste"),
    "HW45": ("含有机卤化物废物", "organic halide waste"),
    "HW46": ("含镍废物", "nickel waste"),
    "HW47": ("含钡废物", "barium waste"),
    "HW48": ("有色金属采选和冶炼废物", "non-ferrous mining and smelting waste"),
    "HW49": ("其他废物", "other waste"),
    "HW50": ("废催化剂", "spent catalysts"),
}

# GB/T 4754-2017: the classes the city's registry uses, their divisions, and the sections
INDUSTRIES: dict[str, tuple[str, str]] = {
    "C": ("制造业", "manufacturing"),
    "A": ("农、林、牧、渔业", "agriculture, forestry, animal husbandry and fishery"),
    "B": ("采矿业", "mining"),
    "D": ("电力、热力、燃气及水生产和供应业", "electricity, heat, gas and water supply"),
    "E": ("建筑业", "construction"),
    "G": ("交通运输、仓储和邮政业", "transport, storage and post"),
    "A01": ("农业", "agriculture"),
    "A03": ("畜牧业", "animal husbandry"),
    "B06": ("煤炭开采和洗选业", "coal mining and washing"),
    "B09": ("有色金属矿采选业", "non-ferrous metal ore mining"),
    "B10": ("非金属矿采选业", "non-metallic mineral mining"),
    "C13": ("农副食品加工业", "agricultural and sideline food processing"),
    "C14": ("食品制造业", "food manufacturing"),
    "C15": ("酒、饮料和精制茶制造业", "liquor, beverages and refined tea"),
    "C17": ("纺织业", "textiles"),
    "C19": ("皮革、毛皮、羽毛及其制品和制鞋业", "leather, fur, feathers and footwear"),
    "C20": ("木材加工和木、竹、藤、棕、草制品业", "wood, bamboo, rattan, palm and straw products"),
    "C21": ("家具制造业", "furniture"),
    "C22": ("造纸和纸制品业", "paper and paper products"),
    "C23": ("印刷和记录媒介复制业", "printing and reproduction of recorded media"),
    "C28": ("化学纤维制造业", "chemical fibres"),
    "C29": ("橡胶和塑料制品业", "rubber and plastic products"),
    "C30": ("非金属矿物制品业", "non-metallic mineral products"),
    "C31": ("黑色金属冶炼和压延加工业", "ferrous metal smelting and rolling"),
    "C35": ("专用设备制造业", "special-purpose machinery"),
    "C37": ("铁路、船舶、航空航天和其他运输设备制造业", "railway, ship, aerospace and other transport equipment"),
    "C38": ("电气机械和器材制造业", "electrical machinery and equipment"),
    "C39": ("计算机、通信和其他电子设备制造业", "computers, communication and other electronic equipment"),
    "C40": ("仪器仪表制造业", "instruments and meters"),
    "C43": ("金属制品、机械和设备修理业", "repair of metal products, machinery and equipment"),
    "D44": ("电力、热力生产和供应业", "electricity and heat supply"),
    "D46": ("水的生产和供应业", "water supply"),
    "E48": ("土木工程建筑业", "civil engineering"),
    "F52": ("零售业", "retail"),
    "G54": ("道路运输业", "road transport"),
    "G59": ("装卸搬运和仓储业", "loading, unloading and storage"),
    "N78": ("公共设施管理业", "public facilities management"),
    "O80": ("居民服务业", "household services"),
    "F": ("批发和零售业", "wholesale and retail"),
    "M": ("科学研究和技术服务业", "research and technical services"),
    "N": ("水利、环境和公共设施管理业", "water, environment and public facilities"),
    "O": ("居民服务、修理和其他服务业", "household services and repair"),
    "P": ("教育", "education"),
    "Q": ("卫生和社会工作", "health and social work"),
    "C25": ("石油、煤炭及其他燃料加工业", "petroleum, coal and other fuel processing"),
    "C26": ("化学原料和化学制品制造业", "chemicals"),
    "C27": ("医药制造业", "pharmaceuticals"),
    "C32": ("有色金属冶炼和压延加工业", "non-ferrous metal smelting"),
    "C33": ("金属制品业", "fabricated metal products"),
    "C34": ("通用设备制造业", "general machinery"),
    "C36": ("汽车制造业", "motor vehicles"),
    "C42": ("废弃资源综合利用业", "recycling of waste resources"),
    "F51": ("批发业", "wholesale"),
    "M73": ("研究和试验发展", "research and development"),
    "M74": ("专业技术服务业", "professional technical services"),
    "N77": ("生态保护和环境治理业", "ecological protection and environmental management"),
    "O81": ("机动车、电子产品和日用产品修理业", "repair of vehicles and household goods"),
    "P83": ("教育", "education"),
    "Q84": ("卫生", "health"),
    "C2511": ("原油加工及石油制品制造", "crude oil processing"),
    "C2519": ("其他原油制造", "other crude oil production"),
    "C2613": ("无机盐制造", "inorganic salts"),
    "C2614": ("有机化学原料制造", "organic chemical raw materials"),
    "C2631": ("化学农药制造", "chemical pesticides"),
    "C2632": ("生物化学农药及微生物农药制造", "biochemical pesticides"),
    "C2641": ("涂料制造", "paints"),
    "C2651": ("初级形态塑料及合成树脂制造", "plastics and synthetic resins"),
    "C2662": ("专项化学用品制造", "special chemicals"),
    "C2669": ("其他专用化学产品制造", "other special chemical products"),
    "C2710": ("化学药品原料药制造", "active pharmaceutical ingredients"),
    "C2720": ("化学药品制剂制造", "pharmaceutical preparations"),
    "C2740": ("中成药生产", "traditional Chinese medicines"),
    "C2750": ("兽用药品制造", "veterinary medicines"),
    "C2761": ("生物药品制造", "biological medicines"),
    "C3216": ("铝冶炼", "aluminium smelting"),
    "C3219": ("其他常用有色金属冶炼", "other non-ferrous smelting"),
    "C3311": ("金属结构制造", "metal structures"),
    "C3360": ("金属表面处理及热处理加工", "metal surface and heat treatment (plating)"),
    "C3484": ("机械零部件加工", "machine parts"),
    "C3670": ("汽车零部件及配件制造", "motor vehicle parts"),
    "C4210": ("金属废料和碎屑加工处理", "metal scrap processing"),
    "C4220": ("非金属废料和碎屑加工处理", "non-metal scrap processing"),
    "F5191": ("再生物资回收与批发", "recycling and wholesale of recovered materials"),
    "M7320": ("工程和技术研究和试验发展", "engineering research"),
    "M7452": ("检测服务", "testing services"),
    "N7724": ("危险废物治理", "hazardous waste treatment"),
    "O8111": ("汽车修理与维护", "motor vehicle repair"),
    "P8341": ("普通高等教育", "higher education"),
    "Q8411": ("综合医院", "general hospitals"),
    "Q8412": ("中医医院", "traditional Chinese medicine hospitals"),
    "Q8415": ("专科医院", "specialised hospitals"),
    "Q8416": ("疗养院", "sanatoriums"),
    "Q8423": ("乡镇卫生院", "township health centres"),
}


def category_of(waste_code: str) -> str:
    """``900-214-08`` -> ``HW08``; a category given as such is kept; "" if neither."""
    s = str(waste_code or "").strip().upper()
    if s.startswith("HW") and s[2:].isdigit():
        return s
    return f"HW{s[-2:]}" if len(s) >= 2 and s[-2:].isdigit() else ""


def category_name(category: str, lang: str = "zh") -> str:
    names = HW_CATEGORIES.get(str(category).upper())
    return "" if names is None else names[0 if lang == "zh" else 1]


def waste_text(waste_code: str, lang: str = "zh") -> str:
    """``900-214-08`` -> ``900-214-08（HW08 废矿物油与含矿物油废物）``; ``HW08`` -> ``HW08 废矿物油与含矿物油废物``."""
    code = str(waste_code or "").strip()
    cat = category_of(code)
    name = category_name(cat, lang)
    if not cat or not name:
        return code
    if code.upper() == cat:
        return f"{cat} {name}"
    return f"{code}（{cat} {name}）" if lang == "zh" else f"{code} ({cat} {name})"


def industry_name(code: str, lang: str = "zh") -> str:
    """The name of a GB/T 4754 code, or of the nearest level above it the table knows; "" if none."""
    code = str(code or "").strip().upper()
    for n in range(len(code), 0, -1):
        names = INDUSTRIES.get(code[:n])
        if names is not None:
            return names[0 if lang == "zh" else 1]
    return ""


def industry_text(code: str, lang: str = "zh") -> str:
    """``C2614`` -> ``C2614 有机化学原料制造``."""
    name = industry_name(code, lang)
    return f"{code} {name}" if name else str(code or "")

"""Chinese names, unified social credit codes and licence plates."""

from __future__ import annotations

import numpy as np

from simulation import geodata

BRAND_CHARS = ("华新瑞鑫金恒达宏桂漓山水源康泰盛丰永安通博兴信德佳利银星海宇正嘉创联合润泽立明"
               "天昌中凯荣晟祥万福裕富隆锦程远航腾飞龙凤鹏峰志东南北西丽美阳光汇力诚益顺和平")

COUNTY_SHORT = {name: name[:2] for name in geodata.COUNTIES}
COUNTY_SHORT.update({"龙胜各族自治县": "龙胜", "恭城瑶族自治县": "恭城"})

TEMPLATES: dict[str, tuple[str, ...]] = {
    "chemical": ("{p}{b}化工有限公司", "{p}{b}化学科技有限公司", "{p}{b}新材料有限公司", "{p}{b}精细化工有限公司",
                 "{p}{b}涂料有限公司", "{p}{b}化学工业有限责任公司"),
    "pesticide": ("{p}{b}农药有限公司", "{p}{b}生物化学有限公司", "{p}{b}植保科技有限公司", "{p}{b}农化股份有限公司"),
    "pharma_api": ("{p}{b}药业有限公司", "{p}{b}制药有限公司", "{p}{b}生物制药股份有限公司", "{p}{b}医药化工有限公司"),
    "pharma_form": ("{p}{b}药业股份有限公司", "{p}{b}中药饮片有限公司", "{p}{b}制药厂", "{p}{b}天然药业有限公司"),
    "plating": ("{p}{b}电镀有限公司", "{p}{b}表面处理有限公司", "{p}{b}金属制品有限公司", "{p}{b}五金电镀厂"),
    "repair": ("{c}{b}汽车修理厂", "{p}{b}汽车服务有限公司", "{c}{b}汽修厂", "{c}{b}汽车维修中心", "{c}{b}机动车维修部",
               "{c}{b}汽车快修店"),
    "battery": ("{c}{b}再生资源回收站", "{p}{b}废旧物资回收有限公司", "{c}{b}蓄电池经营部"),
    "tyre": ("{p}{b}环保科技有限公司", "{p}{b}再生资源利用有限公司", "{p}{b}橡胶制品有限公司", "{p}{b}能源科技有限公司"),
    "hospital": ("{c}{b}医院", "桂林{b}医院", "{c}{b}中医医院", "{c}{b}骨科医院", "{c}{b}妇产医院"),
    "lab": ("桂林{b}检测技术有限公司", "广西{b}检验检测有限公司", "桂林{b}环境监测有限公司", "桂林{b}技术研究院有限公司"),
    "machining": ("桂林{b}机械有限公司", "{p}{b}精密机械制造有限公司", "{p}{b}汽车零部件有限公司", "{p}{b}机电设备有限公司"),
    "disposal": ("广西{b}环保科技有限公司", "桂林{b}危险废物处置有限公司", "{p}{b}环境服务有限公司"),
    "medical": ("桂林市{b}医疗废物处置有限公司", "{p}{b}医疗废物集中处置中心"),
    "oil": ("{p}{b}石化有限公司", "{p}{b}油品再生有限公司", "{p}{b}润滑油回收有限公司"),
    "lead": ("{p}{b}再生铅业有限公司", "{p}{b}有色金属再生有限公司"),
    "solvent": ("{p}{b}溶剂回收有限公司", "{p}{b}化工资源再生有限公司"),
    "metal": ("{p}{b}金属资源综合利用有限公司", "{p}{b}污泥资源化有限公司"),
    "collector": ("{p}{b}环保服务有限公司", "{c}{b}危废收集有限公司", "{p}{b}小微危废收集中心"),
    "transporter": ("{p}{b}危险品运输有限公司", "{p}{b}物流有限公司", "{p}{b}危险货物运输有限公司", "{p}{b}化工物流有限公司"),
}

PLATE_PREFIX = {"柳州市柳江区": "桂B", "南宁市江南区": "桂A", "梧州市长洲区": "桂D", "贺州市八步区": "桂J"}
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_W = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_W = (3, 7, 9, 10, 5, 8, 4, 2)


class NameBook:
    """Hands out unique names, credit codes and plates, deterministically from one generator."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.used: set[str] = set()

    def brand(self) -> str:
        n = 2 if self.rng.random() < 0.85 else 3
        idx = self.rng.choice(len(BRAND_CHARS), n, replace=False)
        return "".join(BRAND_CHARS[i] for i in idx)

    def enterprise(self, kind: str, county: str, town: str | None = None) -> str:
        short = COUNTY_SHORT.get(county, county[:2])
        for _ in range(200):
            tpl = TEMPLATES[kind][int(self.rng.integers(len(TEMPLATES[kind])))]
            prefix = self.rng.choice(["桂林市", "桂林", "广西", short, short]) if county in COUNTY_SHORT else county[:3]
            c = town if (town and self.rng.random() < 0.3) else short
            name = tpl.format(p=prefix, b=self.brand(), c=c)
            if name not in self.used:
                self.used.add(name)
                return name
        raise RuntimeError("ran out of names")

    def public_hospital(self, county: str, town: str | None, rank: int) -> str | None:
        """Named public hospitals first (人民医院, 中医医院, 卫生院), then None to fall back on brands."""
        options = []
        if county in geodata.URBAN:
            options = [f"桂林市第{'一二三四五六七八九'[rank % 9]}人民医院", "桂林市中医医院", "桂林市妇幼保健院"]
        else:
            options = [f"{county}人民医院", f"{county}中医医院", f"{county}妇幼保健院"]
            if town:
                options.append(f"{county}{town}卫生院")
        for name in options:
            if name not in self.used:
                self.used.add(name)
                return name
        return None

    def credit_code(self, division: str, public: bool = False) -> str:
        """An 18-character unified social credit code with valid check characters (GB 32100)."""
        head = "12" if public else "91"
        org = "MA" + "".join(_ORG_CHARS[i] for i in self.rng.integers(0, 31, 6)) if not public else \
            "".join(str(i) for i in self.rng.integers(0, 10, 8))
        org = org[:8]
        s = sum(_ORG_CHARS.index(ch) * w for ch, w in zip(org, _ORG_W, strict=True))
        c9 = 11 - s % 11
        org += "X" if c9 == 10 else ("0" if c9 == 11 else str(c9))
        body = head + division + org
        total = sum(_CREDIT_CHARS.index(ch) * w for ch, w in zip(body, _CREDIT_W, strict=True))
        check = (31 - total % 31) % 31
        return body + _CREDIT_CHARS[check]

    def plate(self, county: str) -> str:
        prefix = PLATE_PREFIX.get(county, "桂C")
        for _ in range(1000):
            if self.rng.random() < 0.7:
                tail = "".join(str(d) for d in self.rng.integers(0, 10, 5))
            else:
                tail = PLATE_LETTERS[int(self.rng.integers(len(PLATE_LETTERS)))] + "".join(str(d) for d in self.rng.integers(0, 10, 4))
            plate = prefix + tail
            if plate not in self.used:
                self.used.add(plate)
                return plate
        raise RuntimeError("ran out of plates")


VILLAGE_CHARS = "黄李陈莫蒋唐秦廖周文石马龙岩塘坪洞江头口冲坳岭背湾田源桥寨"


def village(rng: np.random.Generator) -> str:
    idx = rng.choice(len(VILLAGE_CHARS), 2, replace=False)
    return "".join(VILLAGE_CHARS[i] for i in idx) + rng.choice(["村", "村", "屯", "寨"])

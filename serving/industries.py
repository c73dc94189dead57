"""Names of the GB/T 4754-2017 industry divisions (门类 letter + two-digit 大类), so that a list can be
filtered by an industry's Chinese name ("化学", "汽车修理") as well as by its code."""

from __future__ import annotations

DIVISIONS: dict[str, str] = {
    "A01": "农业", "A03": "畜牧业", "B06": "煤炭开采和洗选业", "B09": "有色金属矿采选业", "B10": "非金属矿采选业",
    "C13": "农副食品加工业", "C14": "食品制造业", "C15": "酒、饮料和精制茶制造业", "C17": "纺织业",
    "C19": "皮革、毛皮、羽毛及其制品和制鞋业", "C20": "木材加工和木、竹、藤、棕、草制品业", "C21": "家具制造业",
    "C22": "造纸和纸制品业", "C23": "印刷和记录媒介复制业", "C25": "石油、煤炭及其他燃料加工业",
    "C26": "化学原料和化学制品制造业", "C27": "医药制造业", "C28": "化学纤维制造业", "C29": "橡胶和塑料制品业",
    "C30": "非金属矿物制品业", "C31": "黑色金属冶炼和压延加工业", "C32": "有色金属冶炼和压延加工业",
    "C33": "金属制品业", "C34": "通用设备制造业", "C35": "专用设备制造业", "C36": "汽车制造业",
    "C37": "铁路、船舶、航空航天和其他运输设备制造业", "C38": "电气机械和器材制造业",
    "C39": "计算机、通信和其他电子设备制造业", "C40": "仪器仪表制造业", "C42": "废弃资源综合利用业",
    "C43": "金属制品、机械和设备修理业", "D44": "电力、热力生产和供应业", "D46": "水的生产和供应业",
    "E48": "土木工程建筑业", "F51": "批发业", "F52": "零售业", "G54": "道路运输业", "G59": "装卸搬运和仓储业",
    "M73": "研究和试验发展", "M74": "专业技术服务业", "N77": "生态保护和环境治理业", "N78": "公共设施管理业",
    "O80": "居民服务业", "O81": "机动车、电子产品和日用产品修理业", "P83": "教育", "Q84": "卫生",
}


def code_prefixes(name: str) -> tuple[str, ...]:
    """Division codes whose name contains ``name`` (Chinese, partial), or the code itself if ``name``
    is one; none if nothing matches (the filter then matches no lead)."""
    text = name.strip()
    if text.upper() in DIVISIONS:
        return (text.upper(),)
    return tuple(code for code, label in DIVISIONS.items() if text and text in label)


def division_name(industry_code: str | None) -> str | None:
    """The division's name of a code such as ``C2662``."""
    return DIVISIONS.get(str(industry_code or "")[:3])

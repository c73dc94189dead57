"""An employee or insider (a plant worker, a driver, a security guard): terse, digits for times and
quantities, the trade's words (危废间, 台账, 联单, 转移, 暗管, 雨水口, 应急池, 压滤, 母液, 吨桶, 槽渣),
sometimes numbered points.
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices import official
from simulation.tipvoices.base import (
    Voice,
    chance,
    minutes,
    period,
    pick,
    plate_masked,
    plate_tail,
    premises,
    short_name,
    waste_of,
)

SEEN = {
    "water": (
        "用软管把吨桶里的液体放进{river}，持续约{k}分钟",
        "打开罐体底阀直接往{river}排，液体深褐色，有溶剂味",
        "卸下约{n}个200L铁桶，就地开盖往河道里倒",
        "在排洪渠口卸液体，渠水直通{river}",
        "往{river}支流水渠排放疑似废酸，水面冒白烟",
        "把车上的槽罐接上泵，往河道抽排，排完冲洗了罐体",
        "在{river}桥下停车，两人往水里倒桶装黑色液体",
    ),
    "karst": (
        "把桶装液体倒进{cave}洞口，洞下是地下河",
        "在{cave}旁的落水洞卸了约{n}桶，空桶扔在洞边",
        "用车载泵往石山脚的天窗里抽排液体",
        "把编织袋装的压滤泥饼扔进{cave}",
        "往溶洞里倒了约{n}吨黑色污泥，洞口有明显流淌痕迹",
    ),
    "dump": (
        "在荒坡卸下约{n}吨疑似压滤污泥，随后用挖机推平",
        "卸下{n}个吨桶，桶上的危废标签已撕掉",
        "把一车槽渣倒在老石场的坑里",
        "在林地倒了一车油泥，现场有黑色渗出液",
        "卸了{n}袋废活性炭，用薄膜盖着",
        "往鱼塘旁的低洼地倒了约{n}方废渣",
    ),
    "workshop": (
        "有一处无证加工点，收废机油土法炼油，露天放着{n}个以上吨桶",
        "一处铁皮棚在拆废铅蓄电池，电解液直接倒在地上",
        "有个点专收各厂的废溶剂，蒸馏后转卖，残渣就地埋",
        "旧养殖场改成了作坊，收废乳化液、废切削液，没有任何处理设施",
        "一个院子里在焚烧废包装桶，冒黑烟",
    ),
    "covert": (
        "{ent}雨水口有明显有色水排出，我用pH试纸测过是酸性",
        "{ent}在雨水管网上私接了暗管，应急池的水直接走雨水口出去",
        "{ent}压滤机的滤液没进污水站，接到了厂外沟渠",
        "{ent}母液罐的溢流管通到围墙外",
        "{ent}事故应急池长期是满的，从边上的管子排走",
        "{ent}污水站的在线监测点前面加了清水稀释",
    ),
    "unlicensed": (
        "{ent}的废机油由个人用小货车收走，没有联单",
        "{ent}把槽渣当一般固废卖给一个没资质的回收点",
        "{ent}的废包装桶交给收桶的个体户，没走转移手续",
        "{ent}危废实际出厂量比联单多，多出来的交给无证人员",
        "{ent}跟一家没有经营许可证的公司签了处置合同",
    ),
}
ENT_VAGUE = ("附近一家厂", "隔壁厂", "园区里一家企业", "我们旁边的化工厂")
PLACE = {
    "water": ("{river}{village}段", "{village}附近{river}右岸", "{village}附近{river}左岸", "{town}{village}河堤",
              "{river}{town}段"),
    "karst": ("{village}北面的{cave}", "{town}{village}一带", "{cave}附近（{village}方向）"),
    "any": ("{town}{village}路口往里约{d}00米", "{county}{town}{village}", "{village}附近", "{town}外围"),
}
WHEN_LATE = ("{md} {hh}:{mm:02d}左右", "{md}夜班期间，约{hh}点", "{md}晚{hh}时许", "约{hh}:{mm:02d}")
WHEN_NIGHT = ("{md} {hh}:{mm:02d}左右", "{md}夜班期间，约{hh}点", "{md}凌晨{hh}时许", "约{hh}:{mm:02d}")
WHEN_DAY = ("{md} {hh}:{mm:02d}左右", "{md}{pd}{h12}点左右", "约{hh}:{mm:02d}", "{md}")
DAY_WORD = {"dawn": "早上", "morning": "上午", "noon": "中午", "afternoon": "下午", "dusk": "傍晚", "evening": "晚上"}
CAR = ("4.2米蓝牌厢货", "一台白色轻卡", "一台10方左右的罐车", "一台无危险品标志的厢货", "一台带尾板的货车",
       "两台车一前一后", "一台9.6米高栏车", "一台皮卡")
PLATE = ("车牌{plate}", "车牌大概是{masked}", "车牌{head}***{t1}", "车牌尾号{t3}")
EXTRA = ("现场有照片和视频", "可以配合调查", "留了一瓶液体样品", "行车记录仪拍到了", "", "", "")
CLOSE = ("请依法查处。", "请尽快核查。", "希望保密。", "")


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    pd = period(hour)
    pool = WHEN_NIGHT if pd == "night" else WHEN_LATE if pd in ("midnight", "evening") else WHEN_DAY
    return pick(rng, pool).format(md=md, hh=int(hour), mm=minutes(hour), h12=int(hour) % 12 or 12,
                                  pd=DAY_WORD.get(pd, ""))


def _place(rng: np.random.Generator, kind: str, fill: dict[str, str]) -> str:
    pool = PLACE.get(kind, ()) + PLACE["any"]
    options = [o for o in pool if all(fill[k] for k in ("village", "river", "cave", "town", "county") if "{" + k + "}" in o)]
    return pick(rng, options or ("现场",)).format(d=int(rng.integers(2, 9)), **fill)


def _plate(rng: np.random.Generator, plate: str) -> str:
    if not plate:
        return "没拍到车牌"
    return pick(rng, PLATE).format(plate=plate, masked=plate_masked(rng, plate, 0.7), head=plate[:2],
                                   t1=plate_tail(plate, 1), t3=plate_tail(plate, 3))


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    f = dict(fill, ent=fill["ent"] or pick(rng, ENT_VAGUE))
    seen = pick(rng, SEEN[kind]).format(n=int(rng.integers(3, 13)), k=int(rng.integers(10, 41)), **f)
    when = _when(rng, hour, md)
    place = _place(rng, kind, fill)
    car = pick(rng, CAR) if vehicle else ""
    plate_s = _plate(rng, plate) if vehicle else ""
    extra, close = pick(rng, EXTRA), pick(rng, CLOSE)
    shape = int(rng.integers(3))
    if shape == 0:
        who = f"{car}（{plate_s}）" if car else "有人"
        return f"{when}，{who}在{place}，{seen}。{extra}。{close}"
    if shape == 1:
        lines = [f"时间：{when}", f"地点：{place}", f"情况：{seen}"]
        if car:
            lines.append(f"车辆：{car}，{plate_s}")
        if extra:
            lines.append(f"其他：{extra}")
        return "；".join(lines) + "。" + close
    numbered = [when, place, seen] + ([f"{car} {plate_s}"] if car else []) + ([extra] if extra else [])
    return "反映情况如下：" + "".join(f"{i + 1}、{s}；" for i, s in enumerate(numbered)) + close


DEPT = ("车间", "污水站", "仓库", "生产部", "环保岗", "物流部", "门卫")
CLAIM = (
    "危废间的{w}每月实际产{x}吨左右，台账上只记一半",
    "{w}没走转移联单，是老板安排人晚上拉走的",
    "应急池的水每次下大雨就从雨水口放出去",
    "{w}装袋装桶堆在后面，满了就拉去填坑",
    "车间有根暗管接到外面沟里，检查前会把阀门关掉",
    "联单上写{x}吨，实际装车的远远不止",
    "{w}卖给一个收货老板，现金结账，不开票",
    "在线监测的探头被动过手脚，超标也显示正常",
    "台账是环保专员每月月底补的，数字照往年抄",
    "转移计划只批了{x}吨，实际产量翻倍，多的没处理",
    "危废间里的桶标签是假的，里面装的是{w}",
    "{w}和生活垃圾混在一起拉去了垃圾场",
)
DETAIL = ("一般是周末或者检查完以后", "拉货的司机是老板亲戚", "我手机里有照片", "离职前拍了视频", "{p}的人都知道",
          "具体时间我可以提供", "")
INSIDER_CLOSE = ("请替我保密，我还在{p}上班。", "我已经离职了，可以配合调查。", "不要打我电话，有需要发短信。", "")
INSIDER_LEAD = ("我是{e}{d}的员工。", "本人在{e}{d}工作{y}年。", "{e}员工实名（请保密）：", "我在{s}干{d}，",
                "前员工，{s}{d}的。")


def insider(rng: np.random.Generator, ent: str) -> str:
    p = premises(ent)
    lead = pick(rng, INSIDER_LEAD).format(e=ent, s=short_name(ent), d=pick(rng, DEPT), y=int(rng.integers(1, 9)))
    claims = [pick(rng, CLAIM).format(w=waste_of(rng, ent), x=int(rng.integers(3, 60)))]
    if chance(rng, 0.35):
        claims.append(pick(rng, CLAIM).format(w=waste_of(rng, ent), x=int(rng.integers(3, 60))))
    if len(claims) == 2 and claims[0] != claims[1]:
        body = f"1.{claims[0]}；2.{claims[1]}。"
    else:
        body = claims[0] + "。"
    detail = pick(rng, DETAIL).format(p=p)
    return f"{lead}{body}{detail + '。' if detail else ''}{pick(rng, INSIDER_CLOSE).format(p=p)}"


NOISE = {
    "odour": ("{e}废气收集不好，下风向一直有异味，不清楚是否超标", "{e}污水站的臭味飘到宿舍区，夏天更重",
              "{e}的储罐呼吸阀一直在冒气味", "{e}的活性炭好久没换了，车间外面都是溶剂味"),
    "dispute": ("{e}的车占了消防通道，装卸的油桶放在路上", "{e}修车把废机油弄到排水沟，跟我们厂扯皮好久了",
                "{e}噪声超标，我们倒班的白天没法休息", "{e}卸货的叉车天天压坏路面，园区协调不了"),
    "vague": ("听司机们说有人在收危废拉去外地，不知道是哪家", "群里有人说园区有厂偷排，没看到证据",
              "有人出高价收废机油，不知道最后去哪了", "听说有人在找车拉桶，价钱比正规的低一半"),
    "parked": ("{river}边的停车场经常停危化品车过夜，司机在车上睡觉", "一台罐车在{town}加油站后面停了两天没动",
               "{village}路边停了几台挂车，车上是空吨桶", "{river}桥头每天晚上停一台厢货，没见卸东西"),
    "smoke": ("{e}的导热油炉冒黑烟", "{e}裂解炉出渣的时候烟很大", "{e}开焚烧炉时烟囱颜色不对", "{e}的锅炉换了燃料，烟变黄了"),
}
NOISE_WHO = ("本人在附近厂上班，", "跑车的，", "园区职工反映：", "", "")
NOISE_HEDGE = ("不确定是否违规", "不一定是危废", "供参考", "", "")


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, ENT_VAGUE))
    for k in ("river", "village", "town"):
        f[k] = f[k] or "附近"
    body = pick(rng, NOISE[kind]).format(**f)
    when = f"{_when(rng, hour, md)}，" if chance(rng, 0.4) else ""
    hedge = pick(rng, NOISE_HEDGE)
    return f"{pick(rng, NOISE_WHO)}{when}{body}。{hedge + '。' if hedge else ''}{pick(rng, CLOSE)}"


REPEAT_HEAD = ("再次反映：", "跟进：上次反映的问题至今未处理。", "补充举报：", "第{k}次反映。")
REPEAT_TAIL = ("同一地点同一辆车。", "情况没有变化，还在继续。", "请给个处理结果。", "")


def repeat(rng: np.random.Generator, text: str) -> str:
    head = pick(rng, REPEAT_HEAD).format(k=int(rng.integers(2, 5)))
    body = text.replace("左右", "前后", 1) if chance(rng, 0.3) else text
    return f"{head}{body}{pick(rng, REPEAT_TAIL)}"


VOICE = Voice(
    name="worker",
    register_zh="员工/内部知情人，简短，数字、工艺词，分条",
    register_en="employee or insider, terse, digits and process words, numbered points",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=lambda rng, where: official.patrol(rng, where, (0.7, 0.1, 0.2)),
    compose_noise=noise,
    compose_repeat=repeat,
)

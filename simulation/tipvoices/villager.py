"""A villager, by phone or WeChat: run-on sentences, 桂柳话 words (好多, 蛮, 晓得, 莫, 一哈, 遭, 咯,
喔), numbers in Chinese, places as a neighbour says them (我们村后面那条河).
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices import official
from simulation.tipvoices.base import (
    Voice,
    chance,
    clock12,
    cn,
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
        "有人拿桶往{river}里面泼黑水，泼完就开起走了",
        "一车东西全部放进河沟里去了，水都变成酱油色",
        "河里面浮起好多死鱼，白花花的一大片",
        "水渠里的水绿油油的，还在起泡泡",
        "看到有人把管子拉到{river}边上，哗啦啦往下放",
        "山塘的水一下子就黑了，鸭子都不肯下水",
        "河坎下面遭人卸了一堆黑糊糊的东西，淌到水里去了",
        "{river}边上的石头都染黄了，水面一层油光光的",
        "几个人把桶一个一个滚下河坎，桶盖都打开了",
    ),
    "karst": (
        "有人往{cave}里面灌东西，洞口都是黑的",
        "后山那个落水洞遭人倒了好多桶",
        "石山脚的岩洞口丢了一堆铁桶，还在漏",
        "天窗里面冒出一股臭气，下面就是地下河",
        "{cave}那边地下河出水的地方，水浑了，颜色不对",
        "有人把一车水全部放进{cave}的洞眼里去了",
        "石山洞口有新的车轮印，地上湿了一大片",
    ),
    "dump": (
        "坡上的荒地遭人卸了一车黑渣",
        "玉米地边上丢了二三十个桶，有的还在往外流",
        "竹林里面倒了一大堆不晓得哪样东西，草都死了",
        "路边沟沟里堆了好多编织袋，袋子烂了流出黄水",
        "山坳坳里倒了一堆油泥，踩上去黏脚",
        "老砖厂那里有人乱倒废料，整得到处都是",
        "林子里烧过东西，剩下一堆黑灰和烂桶",
    ),
    "workshop": (
        "村尾巴有个铁皮棚，拉进去好多桶，一天到晚在熬油",
        "有个老板租了我们这里的旧猪场，不晓得在搞哪样，烟囱冒黑烟",
        "后山脚有人在拆旧电池，电池水淌到菜地里",
        "有个没挂牌子的小厂在炼油，门口全是油桶",
        "旧仓库那点有人搞废油，四面围了铁皮不给人看",
        "路口那个院子进进出出都是拉桶的车子，熏得人喉咙痛",
    ),
    "covert": (
        "{ent}后面有条暗沟直接通到河里，水是红的",
        "{ent}的排水口隔一阵就放黄水出来",
        "{ent}墙脚埋了根管子，水从田里面冒出来",
        "{ent}旁边的水沟一直冒泡泡，酸臭酸臭的",
        "{ent}在厂子背后刨了个大凼，污水就往凼里放，渗到地底下去了",
        "{ent}偷偷往山塘里放水，塘里的鱼死光了",
    ),
    "unlicensed": (
        "{ent}的废油都卖给一个收油的老板，那个人哪样证都没得",
        "有个开三轮车的隔三岔五就去{ent}装桶，拉到哪里去也不晓得",
        "{ent}的废渣拉给村里一个人，他拿来填屋地基",
        "听讲{ent}那些桶装的东西是给私人拉走的，没有手续",
        "{ent}那些废电瓶遭收破烂的拉走了",
    ),
}
ENT_VAGUE = ("坡上那个厂", "村口那个厂子", "河边那家厂", "旁边那个化工厂", "那个做药的厂")
PLACE = {
    "water": ("我们{village}后面那条{river}", "{village}下面{river}那一段", "{town}{village}河边",
              "{village}前面的河沟", "{village}口子上的{river}"),
    "karst": ("{village}后山", "{village}旁边那座石山", "{town}{village}那边的岩洞", "{village}过去一点的{cave}"),
    "any": ("我们{village}", "{village}这边", "{town}{village}", "{town}往{village}走的那条路边", "{village}口子上",
            "{town}那边", "我们村后面"),
}
WHEN = {
    "night": ("昨晚半夜{h}点多", "半夜三更的", "昨天夜里{h}点把钟", "{md}那天半夜", "夜里{h}点钟左右"),
    "midnight": ("昨晚半夜{h}点多", "半夜三更的", "{md}那天半夜", "半夜里"),
    "dawn": ("天刚蒙蒙亮", "早上{h}点多天还没亮", "{md}天光前"),
    "morning": ("今天早上", "上午{h}点多", "{md}早上"),
    "noon": ("中午吃饭那阵", "{md}中午", "今天中午"),
    "afternoon": ("下午{h}点钟", "昨天下午", "{md}下午"),
    "dusk": ("天擦黑的时候", "傍晚", "吃夜饭那阵"),
    "evening": ("昨晚{h}点多", "晚上{h}点钟", "夜饭吃过了以后", "{md}晚上"),
}
CAR = ("一部蓝色的厢车", "一个大车", "一部没挂牌的三轮车", "一部小货车", "一部罐车", "两部车", "一台白色面包车",
       "一部泥头车", "一部拖拉机")
CAR_SAY = ("是{car}拉来的", "开来{car}", "{car}停在那点", "看到{car}开过来又开走")
PLATE = ("车牌后面两个是{t2}", "车牌是{head}开头的", "牌子好像是{masked}", "我记得车牌{masked}", "车牌{plate}")
PLATE_NONE = ("车牌遭泥巴糊住了看不清", "天黑看不清车牌", "")
SMELL = ("臭得要命", "冲鼻子得很", "一股烂鸡蛋味", "熏得眼睛都睁不开", "像油漆一样的味道", "一股药水味，闻了头晕",
         "我家鸭子吃了那个水死了两只", "菜都不敢浇了", "", "")
ASK = ("你们快点派人来看一哈咯", "莫等出事了才来管", "我们吃的水就是那里来的，担心得很", "有哪样事打我电话",
       "麻烦领导重视一哈", "不是第一回了喔", "老表们都在讲这个事", "搞得我们睡都睡不着", "", "")
SHAPES = (
    "{t}，{p}，{s}，{car}，{n}，{m}，{a}",
    "{p}，{t}{s}。{car}，{n}。{a}",
    "喂，我反映个事哈，{p}{s}，{t}{car}，{m}。{a}",
    "{a}！{p}，{s}，{m}。{car}，{n}",
    "{p}，{s}，{m}",
)


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    return pick(rng, WHEN[period(hour)]).format(h=cn(clock12(hour)), md=md)


def _plate(rng: np.random.Generator, plate: str) -> str:
    if not plate:
        return pick(rng, PLATE_NONE)
    return pick(rng, PLATE).format(t2=plate_tail(plate, 2), head=plate[:2], masked=plate_masked(rng, plate, 0.5),
                                   plate=plate)


def _place(rng: np.random.Generator, kind: str, fill: dict[str, str]) -> str:
    pool = PLACE.get(kind, ()) + PLACE["any"] if kind in ("water", "karst") and chance(rng, 0.75) else PLACE["any"]
    options = [o for o in pool if all(fill[k] for k in ("village", "river", "cave", "town") if "{" + k + "}" in o)]
    return pick(rng, options or ("我们这边",)).format(**fill)


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    ent = fill["ent"] and (short_name(fill["ent"]) if chance(rng, 0.6) else fill["ent"])
    f = dict(fill, ent=ent or pick(rng, ENT_VAGUE))
    seen = pick(rng, SEEN[kind]).format(**f)
    place = _place(rng, kind, f) if chance(rng, 0.88) else ""
    car = pick(rng, CAR_SAY).format(car=pick(rng, CAR)) if vehicle else ""
    slots = {"t": _when(rng, hour, md) if chance(rng, 0.8) else "", "p": place, "s": seen, "car": car,
             "n": _plate(rng, plate) if vehicle else "", "m": pick(rng, SMELL), "a": pick(rng, ASK)}
    return pick(rng, SHAPES).format(**slots)


INSIDER_LEAD = ("我在{e}做工，", "我是{e}的工人，", "我在{s}上班好几年了，", "我们村好多人在{e}打工，我也是，",
                "我以前在{s}干过，", "我老表在{s}开车，我也在里面做事，")
INSIDER_BODY = (
    "{p}的{w}都是半夜叫人拉出去倒了，根本没送去处理",
    "老板讲{w}拿去处理要花好多钱，就叫我们挖坑埋在后面",
    "{p}有根管子直接通到外面的沟里，检查的来了就关起",
    "{w}装在桶里，攒够一车就拉走，拉到哪里我们也不晓得",
    "上面来检查之前老板叫我们把{w}藏到山上去",
    "我们天天闻那个{w}的味道，头都是昏的，排出去的水也是那个味",
    "本子上写的跟实际搞的两回事，{w}多出来好多都不晓得去哪里了",
    "{w}跟垃圾混起一起拉走，讲是一般垃圾",
)
INSIDER_MID = ("一个月搞好几回", "都是老板亲自安排的", "里面的人都晓得", "搞了一两年了", "下雨天搞得最多", "")
INSIDER_TAIL = ("莫讲是我讲的哈", "我怕遭开除，名字就不留了", "你们来查一哈就晓得了", "有照片，要的话我发给你们",
                "你们来的时候莫先打招呼，不然他们就藏起了", "")


def insider(rng: np.random.Generator, ent: str) -> str:
    lead = pick(rng, INSIDER_LEAD).format(e=ent, s=short_name(ent) if chance(rng, 0.5) else ent)
    body = pick(rng, INSIDER_BODY).format(p=premises(ent), w=waste_of(rng, ent))
    return f"{lead}{body}，{pick(rng, INSIDER_MID)}，{pick(rng, INSIDER_TAIL)}"


NOISE = {
    "odour": ("{e}那边一天到晚臭烘烘的，窗都不敢开", "{e}的味道飘到我们{village}来了，臭得很，也不晓得有没有毒",
              "住在{e}旁边蛮造孽，闻那个气味头疼", "一刮南风{e}的臭味就吹过来", "{e}那股味冲得很，小娃娃天天咳"),
    "dispute": ("隔壁{e}修车，地上的机油一下雨就冲到我屋门前，讲了好多回都不改", "{e}的车子天天堵在我家门口，轮胎油桶堆到路上",
                "{e}冲车的污水淌进我家菜地，跟他讲他还凶得很", "{e}晚上叮叮当当吵死人，老人家睡不着觉",
                "{e}把旧轮胎堆到我家墙脚，怕起火"),
    "vague": ("听村里人讲有人在河里倒东西，我也没看到", "好像有人在山上乱倒垃圾，具体在哪点不晓得",
              "最近河里的鱼少了好多，不晓得是不是有人搞了哪样", "有人讲晚上有车来倒东西，是真是假不清楚",
              "微信群里面讲{river}遭污染了，麻烦你们看一哈", "{river}的水这一阵有点浑，不晓得是哪样原因"),
    "parked": ("{river}边上停了几部大车，停了好几天了，不晓得拉的哪样", "{town}路边停了一部罐车，一股味道，怕它漏",
               "{village}河边老是停着货车，车上有桶，心里不踏实", "河边空地上夜夜停大车，司机在车上睡觉，怕他们往河里放东西"),
    "smoke": ("{e}那根大烟囱天天冒黑烟，衣服都不敢晒", "{e}在烧轮胎，那个烟黑得很", "{e}冒黄烟，喉咙辣辣的",
              "{e}的烟飘到{village}来，一股焦臭味"),
}
NOISE_ENT = ("那个厂", "村口那家厂", "旁边那家", "坡上那个厂")
NOISE_LEAD = ("跟你们讲个事，", "我是{village}的，", "这个事好久了，", "我们{village}这边，", "", "")


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, NOISE_ENT))
    for k in ("river", "village", "town"):
        f[k] = f[k] or "我们这边"
    body = pick(rng, NOISE[kind]).format(**f)
    lead = pick(rng, NOISE_LEAD).format(**f)
    when = _when(rng, hour, md) + "，" if kind in ("parked", "smoke") and chance(rng, 0.4) else ""
    return f"{lead}{when}{body}，{pick(rng, ASK)}"


REPEAT_HEAD = ("又来了！", "我前几天反映过的，", "上次打过电话到现在还没人来，", "第二回打电话了，", "再讲一遍，")
REPEAT_TAIL = ("今晚又来倒了", "你们到底管不管喔", "讲了好多次了", "求求你们快点来", "")
SWAPS = (("看到", "看见"), ("好多", "蛮多"), ("不晓得", "不知道"), ("一哈", "一下"), ("拉走", "拉起走"))


def repeat(rng: np.random.Generator, text: str) -> str:
    body = text
    for a, b in SWAPS:
        if a in body and chance(rng, 0.5):
            body = body.replace(a, b, 1)
    tail = pick(rng, REPEAT_TAIL)
    return f"{pick(rng, REPEAT_HEAD)}{body}{'，' + tail if tail else ''}"


VOICE = Voice(
    name="villager",
    register_zh="村民口语，桂柳话词语，长句一逗到底",
    register_en="villager, spoken, Guiliu dialect words, run-on sentences",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=lambda rng, where: official.patrol(rng, where, (0.2, 0.7, 0.1)),
    compose_noise=noise,
    compose_repeat=repeat,
)

"""Online posts: social-media posts with a 【】 title, hashtags, @-mentions and emoticons, or a
letter to a leaders' message board (尊敬的…领导：您好！…恳请…). Longest of the voices. Patrol
findings read as an official account's 通报.
"""

from __future__ import annotations

import numpy as np

from simulation.tipvoices.base import (
    Voice,
    chance,
    clock12,
    cn,
    join,
    period,
    pick,
    plate_masked,
    premises,
    short_name,
    some,
    waste_of,
)

SEEN = {
    "water": (
        "一辆车停在{river}边，车尾接了根水管，黑水直接流进江里",
        "{river}这一段突然漂满了油花，太阳一照五颜六色",
        "河里的鱼成片翻白，捞上来都发臭了",
        "有人往河道里偷倒不明液体，整段河水都变成了灰黑色",
        "水渠里冲下来一股黄色的水，流进{river}",
        "{river}河面上全是泡沫，岸边的草都枯了",
    ),
    "karst": (
        "有人把废液往{cave}里倒，洞口下面连着地下河",
        "我们这边的溶洞被人当成了垃圾场，洞口全是铁桶",
        "地下河出水口的水变成了奶白色，以前可是能直接喝的",
        "{cave}附近的天窗被人倒了东西，几十米外都能闻到",
        "落水洞边上全是新鲜的车轮印和洒出来的液体",
    ),
    "dump": (
        "山上一片林地被人倒了几十吨不明废渣",
        "公路边的坡上一夜之间多了上百个蓝色化工桶",
        "有人把黑色的油泥倒在农田旁边，下雨就往田里流",
        "废弃的石场被人偷偷当成了倾倒点，堆得像座小山",
        "有车来卸了一堆编织袋，破口处流出绿色的水",
    ),
    "workshop": (
        "村里有个没有任何手续的黑作坊在炼废机油，整天乌烟瘴气",
        "一个铁皮棚里在拆废旧电瓶，地上的水沟都是酸的",
        "有人租了个旧厂房，晚上关着门加工不知道什么化工原料",
        "一个收废品的院子里堆满了废油桶，还在烧东西",
    ),
    "covert": (
        "{ent}偷偷通过暗管往外排污，出水口藏在草丛里",
        "{ent}旁边的沟渠常年是黑色的，靠近就呛人",
        "{ent}的排水口时不时排出有颜色的水",
        "{ent}在厂区角落弄了个渗坑，污水直接渗进地里",
    ),
    "unlicensed": (
        "{ent}的危废根本没有交给正规公司，而是被私人拉走了",
        "{ent}把废机油卖给没有资质的小贩，去向不明",
        "{ent}的废料被一个收破烂的拉走，据说转手就倒了",
    ),
}
ENT_VAGUE = ("某化工厂", "附近的一家工厂", "一家企业")
TITLE = ("【求助】{place}的河被人倒了黑水，有没有人管？", "【曝光】{town}有人偷倒废料，大家帮忙认一下车",
         "【投诉】{place}环境污染问题", "这是要毒死我们吗？？{place}", "【扩散】{place}又出事了",
         "有没有人管管{place}！", "{place}到底谁在偷倒？", "【求助】我们村的水还能喝吗")
TAG = ("#桂林身边事#", "#环保#", "#曝光台#", "#{county}#", "#{town}#", "#求助#")
AT = ("@桂林生态环境", "@桂林发布", "@{county}融媒体中心", "@广西生态环境厅")
EMO = ("[怒]", "[泪]", "[生病]", "[无语]", "😡", "🙏", "")
PLEA_POST = ("家人们帮忙转发扩散！", "希望相关部门看到！", "有懂的说一下该打哪个电话？", "求关注！！",
             "视频在评论区。", "已打过12369，一直没人来。", "拜托大家了")
WHEN = {
    "midnight": ("{md}深夜{h}点多", "昨天半夜", "{md}半夜"),
    "night": ("{md}凌晨{h}点左右", "昨天深夜", "{md}半夜"),
    "dawn": ("{md}清早", "今天一大早"),
    "morning": ("{md}上午", "今天上午"),
    "noon": ("{md}中午", "今天中午"),
    "afternoon": ("{md}下午{h}点多", "昨天下午"),
    "dusk": ("{md}傍晚", "昨天傍晚"),
    "evening": ("{md}晚上{h}点多", "昨晚"),
}
CAR = ("一辆蓝牌厢货", "一辆白色面包车", "一辆半挂罐车", "一辆没喷字的箱货", "一辆拖拉机")
LEADER = ("尊敬的{county}领导", "尊敬的桂林市生态环境局领导", "尊敬的市长", "尊敬的书记", "尊敬的{town}领导")


def _place(rng: np.random.Generator, fill: dict[str, str]) -> str:
    options = [o for o in ("{town}{village}", "{county}{town}{village}", "{village}", "{river}{village}段",
                           "{town}{river}边") if all(fill[k] for k in ("county", "town", "village", "river") if "{" + k + "}" in o)]
    return pick(rng, options or ("我们这里",)).format(**fill)


def _when(rng: np.random.Generator, hour: float, md: str) -> str:
    return pick(rng, WHEN[period(hour)]).format(md=md, h=clock12(hour))


def _car(rng: np.random.Generator, vehicle: bool, plate: str) -> str:
    if not vehicle:
        return ""
    car = pick(rng, CAR)
    if plate and chance(rng, 0.65):
        return f"拍到{car}，车牌{plate_masked(rng, plate, 0.6)}"
    return f"现场有{car}，车牌没拍清"


def _ok(template: str, fill: dict[str, str]) -> bool:
    return all(fill[k] for k in ("county", "town", "village") if "{" + k + "}" in template)


def _post(rng: np.random.Generator, fill: dict[str, str], seen: str, when: str, car: str, place: str) -> str:
    titles = [t for t in TITLE if ("{town}" not in t or fill["town"]) and ("认一下车" not in t or car)]
    title = pick(rng, titles).format(place=place or "这里", **fill)
    tags = " ".join(t.format(**fill) for t in some(rng, [t for t in TAG if _ok(t, fill)], int(rng.integers(1, 4))))
    at = pick(rng, [a for a in AT if _ok(a, fill)]).format(**fill) if chance(rng, 0.5) else ""
    body = join(f"{when}在{place}" if place else when, seen, car)
    emo = pick(rng, EMO)
    return f"{title} {body}！！{emo}{pick(rng, PLEA_POST)} {tags} {at}".strip()


def _letter(rng: np.random.Generator, fill: dict[str, str], seen: str, when: str, car: str, place: str) -> str:
    leader = pick(rng, [x for x in LEADER if _ok(x, fill)]).format(**fill)
    me = f"我是{place}的村民" if place else "我是本地一名普通群众"
    hurt = pick(rng, ("这条河是下游几个村的饮用水源", "周边都是农田和鱼塘", "附近有小学，孩子们天天闻着这个味道",
                      "我们多次向有关部门反映，至今没有结果", "这种情况已经持续了一段时间"))
    ask = pick(rng, ("恳请领导派人调查处理，还我们一片绿水青山。", "恳请相关部门尽快查明来源，依法严惩。",
                     "希望领导重视，给老百姓一个交代。", "盼复，谢谢！"))
    return f"{leader}：您好！{me}，现反映一个问题：{join(when, seen, car)}。{hurt}。{ask}"


def event(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str, vehicle: bool,
          plate: str) -> str:
    ent = fill["ent"] and (short_name(fill["ent"]) if chance(rng, 0.4) else fill["ent"])
    seen = pick(rng, SEEN[kind]).format(**dict(fill, ent=ent or pick(rng, ENT_VAGUE)))
    place = _place(rng, fill) if chance(rng, 0.9) else ""
    args = (rng, fill, seen, _when(rng, hour, md), _car(rng, vehicle, plate), place)
    return _letter(*args) if chance(rng, 0.3) else _post(*args)


INSIDER_CLAIM = ("{w}一直没按规定处理，偷偷找人拉走", "{p}有暗管往外排水，检查的时候就堵上",
                 "台账都是编的，实际产生的{w}比报上去的多得多", "{w}晚上直接排到外面的沟里",
                 "{w}被当成普通垃圾卖掉了", "应急池的水一下雨就放出去")
INSIDER_FEEL = ("说出来怕被开除，但实在看不下去了", "良心过不去", "我们自己家也住在下游", "领导说谁说出去就开除谁")


def insider(rng: np.random.Generator, ent: str) -> str:
    s = short_name(ent)
    claim = pick(rng, INSIDER_CLAIM).format(w=waste_of(rng, ent), p=premises(ent))
    feel = pick(rng, INSIDER_FEEL)
    shape = int(rng.integers(4))
    if shape == 0:
        return f"【匿名爆料】{s}内部员工：{claim}。{feel}。{pick(rng, [t for t in TAG if '{' not in t])}"
    if shape == 1:
        return f"尊敬的领导：您好！我是{ent}的一名员工，现反映{claim}的问题。{feel}，恳请调查，但请对我的信息保密。"
    if shape == 2:
        return f"在{s}上班的人都知道，{claim}{pick(rng, EMO)}有没有人管管？{pick(rng, AT[:2])}"
    return f"树洞：{feel}……{s}{claim}，该找谁反映？"


NOISE = {
    "odour": ("【投诉】{e}的臭味什么时候能解决？晚上根本睡不着", "住在{e}附近的业主们，你们也闻到那股化学味了吗？",
              "{e}的气味扰民问题反映了很多次了，有没有人管？", "一开窗就是{e}飘来的怪味，孩子天天咳嗽"),
    "dispute": ("{e}把店门口当成了修车场，满地油污，邻居意见很大", "楼下{e}天天半夜洗车敲打，吵得人崩溃",
                "{e}的油桶轮胎堆满了人行道，老人小孩只能走马路"),
    "vague": ("听说{river}上游有人偷排，有知道情况的吗？", "朋友圈在传{town}有人倒化工废料，是真的吗？",
              "最近河水好像变差了，是不是哪里在排污？", "有没有人知道{town}那边新开的厂是干什么的？"),
    "parked": ("{river}边上停了好几辆罐车，是要往河里放东西吗？在线等", "{town}路边一辆大货车停了三天，散发怪味，有人知道是干嘛的吗",
               "每天晚上{river}边都停着几辆拉桶的车，有点怕"),
    "smoke": ("{e}又在冒黑烟了！！", "谁能管管{e}？烟熏得衣服都不敢晒", "{e}的烟囱今天又冒黄烟，拍了视频"),
}


def noise(rng: np.random.Generator, kind: str, fill: dict[str, str], hour: float, md: str) -> str:
    f = dict(fill, e=fill["ent"] or pick(rng, ENT_VAGUE))
    for k in ("river", "village", "town"):
        f[k] = f[k] or "这边"
    body = pick(rng, NOISE[kind]).format(**f)
    tags = " ".join(t.format(**fill) for t in some(rng, [t for t in TAG if _ok(t, fill)], int(rng.integers(0, 3))))
    return f"{body}{pick(rng, EMO)} {tags}".strip()


FORWARD = ("转发：{t}", "//转自网友：{t}", "顶上去！三天了还没人回复。原帖：{t}", "【再次求助】{t}",
           "帮朋友发一下：{t}", "{t} ——更新：今晚又来了！", "这个事怎么还没处理？{t}")


def repeat(rng: np.random.Generator, text: str) -> str:
    body = text.replace("！！", "！！！", 1) if chance(rng, 0.4) else text
    return pick(rng, FORWARD).format(t=body)


PATROL = (
    "【执法动态】近日，执法人员在{where}巡查时发现一处非法倾倒点，现场堆放桶装物{n}个，已立案调查。",
    "通报：接无人机巡查线索，{where}发现疑似危险废物约{n}吨，属地已设置围挡并开展溯源。",
    "【清废行动】{where}发现的废弃化工桶已全部转运至有资质单位，案件正在进一步侦办中。",
    "巡查通报｜{where}：河岸发现油污带约{m}米，已采样送检，结果将及时公布。",
)


def patrol(rng: np.random.Generator, where: str) -> str:
    return pick(rng, PATROL).format(where=where or "辖区内", n=cn(int(rng.integers(3, 40)), two=False),
                                    m=int(rng.integers(20, 400)))


VOICE = Voice(
    name="online",
    register_zh="网帖：标题【】、话题#、@、表情；或领导留言板书信体",
    register_en="online post with title, hashtags, mentions and emoticons, or a letter to a leaders' message board",
    compose_event=event,
    compose_insider=insider,
    compose_patrol=patrol,
    compose_noise=noise,
    compose_repeat=repeat,
)
